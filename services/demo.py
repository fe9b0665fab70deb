"""Demo data for development and tests: agencies of two mountain provinces, people, a catalog.

Accounts here are demo-only (password `DemoPass#2026`); `seed_demo` refuses to run in prod.
"""

from typing import Any

from django.db import transaction

from accounts.models import User
from agencies.models import AdministrativeUnit, Agency, StaffMembership
from services.models import PublicService, ServiceCategory

DEMO_PASSWORD = "DemoPass#2026"

AGENCIES: list[dict[str, Any]] = [
    {
        "code": "bo-noi-vu",
        "name": "Bộ Nội vụ",
        "level": "ministry",
        "parent": None,
        "unit": None,
        "address": "8 Tôn Thất Thuyết, Hà Nội",
        "phone": "024 6282 1038",
        "opening_hours": "Thứ 2–6, 8:00–17:00",
    },
    {
        "code": "tuyen-quang",
        "name": "Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
        "level": "province",
        "parent": "bo-noi-vu",
        "unit": ("province", 8),
        "address": "Đường 17/8, phường Minh Xuân, Tuyên Quang",
        "phone": "0207 3822 345",
        "opening_hours": "Thứ 2–6, 7:30–17:00",
    },
    {
        "code": "tuyen-quang-lam-binh",
        "name": "UBND xã Lâm Bình",
        "level": "commune",
        "parent": "tuyen-quang",
        "unit": ("commune", 2266),
        "address": "Thôn Nà Khà, xã Lâm Bình, Tuyên Quang",
        "phone": "0207 3862 001",
        "opening_hours": "Thứ 2–6, 7:30–11:30 và 13:30–17:00",
    },
    {
        "code": "tuyen-quang-thuong-lam",
        "name": "UBND xã Thượng Lâm",
        "level": "commune",
        "parent": "tuyen-quang",
        "unit": ("commune", 2269),
        "address": "Thôn Nà Liềng, xã Thượng Lâm, Tuyên Quang",
        "phone": "0207 3862 101",
        "opening_hours": "Thứ 2–6, 7:30–11:30 và 13:30–17:00",
    },
    {
        "code": "dien-bien",
        "name": "Trung tâm Phục vụ hành chính công tỉnh Điện Biên",
        "level": "province",
        "parent": "bo-noi-vu",
        "unit": ("province", 11),
        "address": "Phường Điện Biên Phủ, Điện Biên",
        "phone": "0215 3825 678",
        "opening_hours": "Thứ 2–6, 7:30–17:00",
    },
    {
        "code": "dien-bien-muong-phang",
        "name": "UBND xã Mường Phăng",
        "level": "commune",
        "parent": "dien-bien",
        "unit": ("commune", 3325),
        "address": "Bản Mường Phăng, xã Mường Phăng, Điện Biên",
        "phone": "0215 3929 001",
        "opening_hours": "Thứ 2–6, 7:00–11:00 và 13:30–16:30",
    },
]

PEOPLE: list[dict[str, Any]] = [
    {"phone": "+84900000001", "full_name": "Hoàng Thị Mai", "home": 2266},
    {"phone": "+84900000002", "full_name": "Lò Văn Pánh", "home": 3325},
    {
        "phone": "+84900000101",
        "full_name": "Nông Văn Sáu",
        "staff": ("tuyen-quang-lam-binh", "officer"),
    },
    {"phone": "+84900000201", "full_name": "Ma Thị Hoa", "staff": ("tuyen-quang", "manager")},
    {
        "phone": "+84900000301",
        "full_name": "Quàng Văn Dũng",
        "staff": ("dien-bien-muong-phang", "officer"),
    },
    {"phone": "+84900000999", "full_name": "Quản trị hệ thống", "superuser": True},
]

CATEGORIES: list[dict[str, Any]] = [
    {"code": "civil-status", "name": {"vi": "Hộ tịch", "en": "Civil status"}, "position": 1},
    {"code": "residence", "name": {"vi": "Cư trú", "en": "Residence"}, "position": 2},
]

_PERSON = {
    "type": "object",
    "required": ["full_name", "birth_date"],
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 100, "title": "Họ và tên"},
        "birth_date": {"type": "string", "format": "date", "title": "Ngày sinh"},
        "ethnicity": {"type": "string", "maxLength": 50, "title": "Dân tộc"},
    },
}

SERVICES: list[dict[str, Any]] = [
    {
        "code": "birth-registration",
        "national_code": "1.001193",
        "category": "civil-status",
        "name": {"vi": "Đăng ký khai sinh", "en": "Birth registration"},
        "description": {
            "vi": "Đăng ký khai sinh cho trẻ em sinh ra tại xã; cấp bản chính Giấy khai sinh.",
            "en": "Register the birth of a child born in the commune; the birth certificate "
            "is issued.",
        },
        "level": "commune",
        "processing_days": 1,
        "fee": 0,
        "online_level": "full",
        "required_documents": [
            {
                "name": {"vi": "Giấy chứng sinh", "en": "Medical birth certificate"},
                "required": True,
                "kinds": ["pdf", "image"],
            },
            {
                "name": {
                    "vi": "Giấy tờ tùy thân của người đi khai sinh",
                    "en": "Identity document of the declarant",
                },
                "required": True,
                "kinds": ["pdf", "image"],
            },
        ],
        "form_schema": {
            "type": "object",
            "required": ["child", "mother"],
            "properties": {
                "child": {
                    "type": "object",
                    "required": ["full_name", "birth_date", "sex", "birth_place"],
                    "properties": {
                        "full_name": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 100,
                            "title": "Họ, chữ đệm và tên",
                        },
                        "birth_date": {"type": "string", "format": "date", "title": "Ngày sinh"},
                        "sex": {"type": "string", "enum": ["male", "female"], "title": "Giới tính"},
                        "birth_place": {"type": "string", "maxLength": 200, "title": "Nơi sinh"},
                        "ethnicity": {"type": "string", "maxLength": 50, "title": "Dân tộc"},
                    },
                },
                "mother": _PERSON,
                "father": _PERSON,
            },
        },
    },
    {
        "code": "residence-confirmation",
        "national_code": "1.004194",
        "category": "residence",
        "name": {"vi": "Xác nhận thông tin về cư trú", "en": "Residence confirmation"},
        "description": {
            "vi": "Xác nhận nơi cư trú hiện tại của công dân.",
            "en": "Confirmation of a citizen's current place of residence.",
        },
        "level": "commune",
        "processing_days": 3,
        "fee": 0,
        "online_level": "full",
        "required_documents": [],
        "form_schema": {
            "type": "object",
            "required": ["full_name", "id_number", "purpose"],
            "properties": {
                "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
                "id_number": {
                    "type": "string",
                    "pattern": "^[0-9]{12}$",
                    "title": "Số định danh cá nhân",
                },
                "purpose": {"type": "string", "maxLength": 300, "title": "Mục đích"},
            },
        },
    },
    {
        "code": "marital-status-confirmation",
        "national_code": "1.004873",
        "category": "civil-status",
        "name": {
            "vi": "Cấp Giấy xác nhận tình trạng hôn nhân",
            "en": "Marital status confirmation",
        },
        "description": {
            "vi": "Cấp giấy xác nhận tình trạng hôn nhân cho công dân cư trú tại xã.",
            "en": "Certificate of marital status for a resident of the commune.",
        },
        "level": "commune",
        "processing_days": 3,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            {
                "name": {
                    "vi": "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân",
                    "en": "Declaration form",
                },
                "required": True,
                "kinds": ["pdf", "image"],
            },
        ],
        "form_schema": {
            "type": "object",
            "required": ["full_name", "birth_date", "purpose"],
            "properties": {
                "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
                "birth_date": {"type": "string", "format": "date"},
                "purpose": {"type": "string", "maxLength": 300},
            },
        },
    },
]


def _unit(key: tuple[str, int] | None) -> AdministrativeUnit | None:
    if key is None:
        return None
    return AdministrativeUnit.objects.get(level=key[0], code=key[1])


@transaction.atomic
def seed_demo() -> dict[str, int]:
    """Create or refresh the demo agencies, people and catalog. Safe to run again."""
    agencies: dict[str, Agency] = {}
    for row in AGENCIES:
        agency, _created = Agency.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "level": row["level"],
                "parent": agencies.get(row["parent"]) if row["parent"] else None,
                "administrative_unit": _unit(row["unit"]),
                "address": row["address"],
                "phone": row["phone"],
                "opening_hours": row["opening_hours"],
            },
        )
        agencies[row["code"]] = agency
    for person in PEOPLE:
        user = User.objects.filter(phone=person["phone"]).first()
        if user is None:
            user = User.objects.create_user(person["phone"], DEMO_PASSWORD, full_name="")
        user.full_name = person["full_name"]
        user.is_staff = bool(person.get("staff") or person.get("superuser"))
        user.is_superuser = bool(person.get("superuser"))
        if person.get("home"):
            user.administrative_unit = _unit(("commune", person["home"]))
        user.save()
        if person.get("staff"):
            code, role = person["staff"]
            StaffMembership.objects.update_or_create(
                user=user, agency=agencies[code], defaults={"role": role}
            )
    categories = {}
    for row in CATEGORIES:
        categories[row["code"]], _created = ServiceCategory.objects.update_or_create(
            code=row["code"], defaults={"name": row["name"], "position": row["position"]}
        )
    for row in SERVICES:
        fields = {k: v for k, v in row.items() if k not in ("code", "category")}
        PublicService.objects.update_or_create(
            code=row["code"], defaults={**fields, "category": categories[row["category"]]}
        )
    return {"agencies": len(agencies), "people": len(PEOPLE), "services": len(SERVICES)}
