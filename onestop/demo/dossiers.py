"""Demo data for development and tests: agencies of two mountain provinces, people, a catalog.

Accounts here are demo-only (password `DemoPass#2026`); `seed_demo` refuses to run in prod.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from agencies.models import AdministrativeUnit, Agency, StaffMembership
from common.progress import Progress, quiet
from services.models import PublicService, ServiceCategory

# Demo data only: the seed commands refuse to run outside dev and test.
DEMO_PASSWORD = "DemoPass#2026"  # nosec B105

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

# The demo catalog. Names, fees and time limits follow the national rules as applied after
# the 2025 reorganisation (province and commune only). National codes are given only where
# they are known (check them against the portal before real use); a blank one is better
# than an invented one, since staff and phones use it to find the procedure on the National
# Public Service Portal.
#
# English texts are written for the project and marked reviewed. The few texts in Tày (tyz)
# and H'Mông (hmn) are *samples*: demo translations no speaker has checked, kept so that the
# phones and the translator view have something to show. Each row says so itself in
# `translation_status`; a sample is never to be presented as reviewed (see
# common/i18n/translations.py), and it does not count in `GET languages/` completeness.
ENGLISH_REVIEWED = {"en": "reviewed"}

CATEGORIES: list[dict[str, Any]] = [
    {
        "code": "civil-status",
        "name": {
            "vi": "Hộ tịch",
            "en": "Civil status",
            "hmn": "Sau npe yug, tuag thiab sib yuav",
        },
        "position": 1,
        "translation_status": {"hmn": "sample"},
    },
    {"code": "residence", "name": {"vi": "Cư trú", "en": "Residence"}, "position": 2},
    {"code": "certification", "name": {"vi": "Chứng thực", "en": "Certification"}, "position": 3},
    {
        "code": "social-protection",
        "name": {"vi": "Bảo trợ xã hội", "en": "Social protection"},
        "position": 4,
    },
    {
        "code": "poverty-reduction",
        "name": {"vi": "Giảm nghèo", "en": "Poverty reduction"},
        "position": 5,
    },
    {"code": "education", "name": {"vi": "Giáo dục và đào tạo", "en": "Education"}, "position": 6},
    {
        "code": "health-insurance",
        "name": {"vi": "Bảo hiểm y tế", "en": "Health insurance"},
        "position": 7,
    },
    {"code": "land", "name": {"vi": "Đất đai", "en": "Land"}, "position": 8},
    {
        "code": "business",
        "name": {"vi": "Đăng ký kinh doanh", "en": "Business registration"},
        "position": 9,
    },
]

FILES = ["pdf", "image"]


def _doc(vi: str, en: str, *, required: bool = True) -> dict[str, Any]:
    return {"name": {"vi": vi, "en": en}, "required": required, "kinds": FILES}


def _text(title: str, max_length: int = 200, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "title": title, **extra}


def _date(title: str) -> dict[str, Any]:
    return {"type": "string", "format": "date", "title": title}


ID_NUMBER = _text("Số định danh cá nhân", 12, pattern="^[0-9]{12}$")
ID_DOCUMENT = _doc(
    "Giấy tờ tùy thân (Căn cước, Căn cước công dân hoặc hộ chiếu) của người nộp",
    "Identity document of the applicant (ID card or passport)",
)

_PERSON = {
    "type": "object",
    "required": ["full_name", "birth_date"],
    "properties": {
        "full_name": _text("Họ, chữ đệm và tên", 100),
        "birth_date": _date("Ngày sinh"),
        "ethnicity": _text("Dân tộc", 50),
        "id_number": ID_NUMBER,
    },
}

SERVICES: list[dict[str, Any]] = [
    {
        "code": "birth-registration",
        "national_code": "1.001193",
        "category": "civil-status",
        "name": {
            "vi": "Đăng ký khai sinh",
            "en": "Birth registration",
            "tyz": "Đăng ký khai sinh hẩư lục",
            "hmn": "Sau npe yug me nyuam",
        },
        "description": {
            "vi": "Đăng ký khai sinh cho trẻ em sinh ra tại xã; cấp bản chính Giấy khai sinh. "
            "Không thu lệ phí khi đăng ký đúng hạn (trong 60 ngày kể từ ngày sinh).",
            "en": "Register the birth of a child born in the commune; the birth certificate "
            "is issued. Free of charge when registered within 60 days of the birth.",
            "hmn": "Sau npe yug rau me nyuam yug hauv zej zog; tau daim ntawv yug. Tsis them "
            "nyiaj yog sau npe hauv 60 hnub tom qab yug.",
        },
        "translation_status": {"tyz": "sample", "hmn": "sample"},
        "level": "commune",
        "processing_days": 1,
        "fee": 0,
        "online_level": "full",
        "required_documents": [
            _doc("Giấy chứng sinh", "Medical birth certificate"),
            ID_DOCUMENT,
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai đăng ký khai sinh",
            "required": ["child", "mother"],
            "properties": {
                "child": {
                    "type": "object",
                    "title": "Người được khai sinh",
                    "required": ["full_name", "birth_date", "sex", "birth_place"],
                    "properties": {
                        "full_name": _text("Họ, chữ đệm và tên", 100),
                        "birth_date": _date("Ngày, tháng, năm sinh"),
                        "sex": {"type": "string", "enum": ["male", "female"], "title": "Giới tính"},
                        "birth_place": _text("Nơi sinh"),
                        "ethnicity": _text("Dân tộc", 50),
                        "nationality": _text("Quốc tịch", 50, default="Việt Nam"),
                    },
                },
                "mother": {**_PERSON, "title": "Người mẹ"},
                "father": {**_PERSON, "title": "Người cha"},
                "declarant_relationship": _text("Quan hệ với người được khai sinh", 50),
            },
        },
    },
    {
        "code": "death-registration",
        "national_code": "1.000656",
        "category": "civil-status",
        "name": {
            "vi": "Đăng ký khai tử",
            "en": "Death registration",
            "hmn": "Sau npe neeg tuag",
        },
        "translation_status": {"hmn": "sample"},
        "description": {
            "vi": "Đăng ký khai tử cho người chết tại xã hoặc có nơi cư trú cuối cùng tại xã; "
            "cấp Trích lục khai tử. Người thân đăng ký trong 15 ngày kể từ ngày chết. "
            "Không thu lệ phí.",
            "en": "Register the death of a person who died or last lived in the commune; an "
            "extract of the death register is issued. Relatives register within 15 days of "
            "the death. Free of charge.",
        },
        "level": "commune",
        "processing_days": 1,
        "fee": 0,
        "online_level": "full",
        "required_documents": [
            _doc(
                "Giấy báo tử hoặc giấy tờ thay thế Giấy báo tử",
                "Death notice, or a document accepted in its place",
            ),
            ID_DOCUMENT,
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai đăng ký khai tử",
            "required": ["deceased", "death_date", "death_place", "cause"],
            "properties": {
                "deceased": {**_PERSON, "title": "Người chết"},
                "death_date": _date("Ngày chết"),
                "death_place": _text("Nơi chết"),
                "cause": _text("Nguyên nhân chết"),
                "declarant_relationship": _text("Quan hệ với người chết", 50),
            },
        },
    },
    {
        "code": "marriage-registration",
        "national_code": "",
        "category": "civil-status",
        "name": {"vi": "Đăng ký kết hôn", "en": "Marriage registration"},
        "description": {
            "vi": "Đăng ký kết hôn giữa công dân Việt Nam cư trú trong nước; hai bên cùng có mặt "
            "khi nhận Giấy chứng nhận kết hôn. Miễn lệ phí.",
            "en": "Register the marriage of two Vietnamese citizens living in Viet Nam; both "
            "attend when the marriage certificate is handed over. Free of charge.",
        },
        "level": "commune",
        "processing_days": 1,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            _doc(
                "Giấy tờ tùy thân của hai bên nam, nữ",
                "Identity documents of both spouses",
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai đăng ký kết hôn",
            "required": ["wife", "husband"],
            "properties": {
                "wife": {**_PERSON, "title": "Bên nữ"},
                "husband": {**_PERSON, "title": "Bên nam"},
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
            "vi": "Cấp giấy xác nhận tình trạng hôn nhân cho công dân cư trú tại xã, để kết hôn "
            "hoặc dùng vào mục đích khác (vay vốn, mua bán tài sản…).",
            "en": "Certificate of marital status for a resident of the commune, to marry or for "
            "another purpose (a loan, a sale of property…).",
        },
        "level": "commune",
        "processing_days": 3,
        "fee": 0,
        "online_level": "full",
        "required_documents": [
            ID_DOCUMENT,
            _doc(
                "Bản án, quyết định ly hôn hoặc giấy chứng tử của vợ/chồng (nếu đã từng kết hôn)",
                "Divorce judgment or the spouse's death certificate (if married before)",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai cấp Giấy xác nhận tình trạng hôn nhân",
            "required": ["full_name", "birth_date", "id_number", "marital_status", "purpose"],
            "properties": {
                "full_name": _text("Họ, chữ đệm và tên", 100),
                "birth_date": _date("Ngày sinh"),
                "id_number": ID_NUMBER,
                "marital_status": {
                    "type": "string",
                    "enum": ["single", "divorced", "widowed"],
                    "title": "Tình trạng hôn nhân",
                },
                "purpose": _text("Mục đích sử dụng", 300),
            },
        },
    },
    {
        "code": "residence-confirmation",
        "national_code": "1.004194",
        "category": "residence",
        "name": {"vi": "Xác nhận thông tin về cư trú", "en": "Residence confirmation"},
        "description": {
            "vi": "Công an xã xác nhận nơi cư trú hiện tại, thời gian cư trú và thông tin khác "
            "về cư trú của công dân. Không thu lệ phí.",
            "en": "The commune police confirm a citizen's current place of residence, how long "
            "they have lived there and other residence details. Free of charge.",
        },
        "level": "commune",
        "processing_days": 3,
        "fee": 0,
        "online_level": "full",
        "required_documents": [],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai thay đổi thông tin cư trú (CT01)",
            "required": ["full_name", "id_number", "purpose"],
            "properties": {
                "full_name": _text("Họ, chữ đệm và tên", 100),
                "id_number": ID_NUMBER,
                "purpose": _text("Mục đích", 300),
            },
        },
    },
    {
        "code": "permanent-residence-registration",
        "national_code": "",
        "category": "residence",
        "name": {"vi": "Đăng ký thường trú", "en": "Permanent residence registration"},
        "description": {
            "vi": "Đăng ký thường trú tại chỗ ở hợp pháp trong xã (nhà của mình, nhà người thân "
            "hoặc nhà thuê, mượn). Lệ phí theo mức của Hội đồng nhân dân tỉnh; miễn cho người "
            "thuộc hộ nghèo và người dân tộc thiểu số ở xã có điều kiện kinh tế – xã hội đặc "
            "biệt khó khăn.",
            "en": "Register permanent residence at a lawful home in the commune (one's own, a "
            "relative's, or rented or borrowed). The fee is set by the provincial People's "
            "Council; poor households and ethnic-minority people of extremely disadvantaged "
            "communes are exempt.",
        },
        "level": "commune",
        "processing_days": 7,
        "fee": 0,
        "online_level": "full",
        "required_documents": [
            _doc(
                "Giấy tờ chứng minh chỗ ở hợp pháp",
                "Proof of a lawful place to live",
            ),
            _doc(
                "Ý kiến đồng ý của chủ hộ hoặc chủ sở hữu chỗ ở (nếu không phải nhà của mình)",
                "Consent of the head of household or the owner (if not one's own home)",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai thay đổi thông tin cư trú (CT01)",
            "required": ["full_name", "id_number", "address", "head_of_household"],
            "properties": {
                "full_name": _text("Họ, chữ đệm và tên", 100),
                "id_number": ID_NUMBER,
                "address": _text("Địa chỉ đề nghị đăng ký thường trú (thôn/bản, xã)", 300),
                "head_of_household": _text("Họ và tên chủ hộ", 100),
                "relationship": _text("Quan hệ với chủ hộ", 50),
            },
        },
    },
    {
        "code": "copy-certification",
        "national_code": "",
        "category": "certification",
        "name": {
            "vi": "Chứng thực bản sao từ bản chính",
            "en": "Certification of copies from originals",
        },
        "description": {
            "vi": "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ quan có thẩm quyền của "
            "Việt Nam cấp. Lệ phí 2.000 đồng/trang; từ trang thứ ba trở đi 1.000 đồng/trang, "
            "tối đa 200.000 đồng/bản.",
            "en": "Certify copies of papers issued by a competent Vietnamese authority against "
            "their originals. 2,000 VND a page; from the third page on, 1,000 VND a page, at "
            "most 200,000 VND a copy.",
        },
        "level": "commune",
        "processing_days": 1,
        "fee": 2000,
        "online_level": "partial",
        "required_documents": [
            _doc("Bản chính giấy tờ cần chứng thực", "The original to be copied"),
        ],
        "form_schema": {
            "type": "object",
            "title": "Đề nghị chứng thực bản sao",
            "required": ["document_name", "copies"],
            "properties": {
                "document_name": _text("Tên giấy tờ, văn bản"),
                "pages": {"type": "integer", "minimum": 1, "maximum": 500, "title": "Số trang"},
                "copies": {"type": "integer", "minimum": 1, "maximum": 50, "title": "Số bản sao"},
            },
        },
    },
    {
        "code": "poor-household-certification",
        "national_code": "",
        "category": "poverty-reduction",
        "name": {
            "vi": "Xác nhận hộ nghèo, hộ cận nghèo",
            "en": "Poor or near-poor household certification",
        },
        "description": {
            "vi": "Ủy ban nhân dân xã cấp Giấy chứng nhận hộ nghèo, hộ cận nghèo cho hộ có tên "
            "trong danh sách đã được rà soát, để hưởng các chính sách hỗ trợ (bảo hiểm y tế, "
            "học phí, vay vốn, nhà ở).",
            "en": "The commune People's Committee certifies a household on the reviewed list as "
            "poor or near-poor, so that it can receive support (health insurance, school fees, "
            "loans, housing).",
        },
        "level": "commune",
        "processing_days": 5,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            _doc(
                "Giấy đề nghị xác nhận hộ nghèo, hộ cận nghèo",
                "Application for poor or near-poor household certification",
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Giấy đề nghị xác nhận hộ nghèo, hộ cận nghèo",
            "required": ["head_of_household", "id_number", "village", "members"],
            "properties": {
                "head_of_household": _text("Họ và tên chủ hộ", 100),
                "id_number": ID_NUMBER,
                "village": _text("Thôn/bản", 100),
                "members": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 30,
                    "title": "Số nhân khẩu",
                },
                "ethnicity": _text("Dân tộc", 50),
            },
        },
    },
    {
        "code": "housing-support",
        "national_code": "",
        "category": "poverty-reduction",
        "name": {
            "vi": "Hỗ trợ nhà ở cho hộ nghèo, hộ cận nghèo",
            "en": "Housing support for poor and near-poor households",
        },
        "description": {
            "vi": "Hỗ trợ xây mới hoặc sửa chữa nhà ở cho hộ nghèo, hộ cận nghèo chưa có nhà ở "
            "hoặc nhà tạm, dột nát, ưu tiên hộ đồng bào dân tộc thiểu số ở vùng khó khăn.",
            "en": "Support to build or repair the home of a poor or near-poor household without "
            "a home or living in a makeshift one, ethnic-minority households in disadvantaged "
            "areas first.",
        },
        "level": "commune",
        "processing_days": 15,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            _doc("Đơn đề nghị hỗ trợ nhà ở", "Application for housing support"),
            _doc(
                "Ảnh hiện trạng nhà ở",
                "Photos of the present home",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Đơn đề nghị hỗ trợ nhà ở",
            "required": ["head_of_household", "id_number", "village", "support_kind"],
            "properties": {
                "head_of_household": _text("Họ và tên chủ hộ", 100),
                "id_number": ID_NUMBER,
                "village": _text("Thôn/bản", 100),
                "support_kind": {
                    "type": "string",
                    "enum": ["new_house", "repair"],
                    "title": "Hình thức hỗ trợ",
                },
                "present_state": _text("Hiện trạng nhà ở", 500),
            },
        },
    },
    {
        "code": "monthly-social-allowance",
        "national_code": "",
        "category": "social-protection",
        "name": {
            "vi": "Trợ cấp xã hội hàng tháng",
            "en": "Monthly social allowance",
        },
        "description": {
            "vi": "Thực hiện trợ cấp xã hội hàng tháng cho đối tượng bảo trợ xã hội: trẻ em mồ "
            "côi, người cao tuổi, người khuyết tật, người đơn thân nghèo nuôi con nhỏ…",
            "en": "Monthly social allowance for people under social protection: orphans, older "
            "people, people with disabilities, poor single parents of young children…",
        },
        "level": "commune",
        "processing_days": 10,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            _doc("Tờ khai đề nghị trợ giúp xã hội", "Application for social assistance"),
            _doc(
                "Giấy xác nhận khuyết tật (với người khuyết tật)",
                "Disability certificate (for people with disabilities)",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai đề nghị trợ giúp xã hội",
            "required": ["beneficiary", "group"],
            "properties": {
                "beneficiary": {**_PERSON, "title": "Người đề nghị trợ cấp"},
                "group": {
                    "type": "string",
                    "enum": ["orphan", "elderly", "disability", "single_parent", "other"],
                    "title": "Nhóm đối tượng",
                },
                "bank_account": _text("Số tài khoản nhận trợ cấp (nếu có)", 30),
            },
        },
    },
    {
        "code": "ethnic-minority-pupil-support",
        "national_code": "",
        "category": "education",
        "name": {
            "vi": "Hỗ trợ học sinh dân tộc thiểu số",
            "en": "Support for ethnic-minority pupils and students",
        },
        "description": {
            "vi": "Hỗ trợ tiền ăn, tiền nhà ở và gạo cho học sinh dân tộc thiểu số ở thôn, bản, "
            "xã đặc biệt khó khăn phải ở lại trường hoặc thuê nhà để đi học.",
            "en": "Meal, lodging and rice support for ethnic-minority pupils from extremely "
            "disadvantaged villages and communes who board at school or rent near it.",
        },
        "level": "commune",
        "processing_days": 10,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [
            _doc("Đơn đề nghị hỗ trợ", "Application for support"),
            _doc(
                "Giấy xác nhận của nhà trường",
                "Certificate of enrolment from the school",
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Đơn đề nghị hỗ trợ học sinh",
            "required": ["pupil", "school", "grade", "guardian"],
            "properties": {
                "pupil": {**_PERSON, "title": "Học sinh"},
                "school": _text("Trường đang học"),
                "grade": {"type": "integer", "minimum": 1, "maximum": 12, "title": "Lớp"},
                "guardian": _text("Họ và tên cha, mẹ hoặc người giám hộ", 100),
                "distance_km": {
                    "type": "number",
                    "minimum": 0,
                    "title": "Khoảng cách từ nhà đến trường (km)",
                },
            },
        },
    },
    {
        "code": "health-insurance-card",
        "national_code": "",
        "category": "health-insurance",
        "name": {
            "vi": "Cấp thẻ bảo hiểm y tế cho người dân tộc thiểu số vùng khó khăn",
            "en": "Health insurance card for ethnic-minority people in disadvantaged areas",
        },
        "description": {
            "vi": "Lập danh sách và cấp thẻ BHYT do ngân sách nhà nước đóng cho người dân tộc "
            "thiểu số đang sinh sống tại vùng có điều kiện kinh tế – xã hội khó khăn, đặc biệt "
            "khó khăn.",
            "en": "List and issue state-funded health insurance cards to ethnic-minority people "
            "living in areas with difficult or extremely difficult socio-economic conditions.",
        },
        "level": "commune",
        "processing_days": 5,
        "fee": 0,
        "online_level": "partial",
        "required_documents": [],
        "form_schema": {
            "type": "object",
            "title": "Tờ khai tham gia, điều chỉnh thông tin BHYT (TK1-TS)",
            "required": ["insured", "village"],
            "properties": {
                "insured": {**_PERSON, "title": "Người tham gia"},
                "village": _text("Thôn/bản", 100),
                "health_facility": _text("Nơi đăng ký khám chữa bệnh ban đầu"),
            },
        },
    },
    {
        "code": "household-business-registration",
        "national_code": "",
        "category": "business",
        "name": {"vi": "Đăng ký thành lập hộ kinh doanh", "en": "Household business registration"},
        "description": {
            "vi": "Cấp Giấy chứng nhận đăng ký hộ kinh doanh (buôn bán, dịch vụ, homestay…). "
            "Lệ phí theo mức của Hội đồng nhân dân tỉnh.",
            "en": "Issue the household business registration certificate (trade, services, "
            "homestays…). The fee is set by the provincial People's Council.",
        },
        "level": "commune",
        "processing_days": 3,
        "fee": 100000,
        "online_level": "full",
        "required_documents": [
            _doc(
                "Giấy đề nghị đăng ký hộ kinh doanh",
                "Household business registration form",
            ),
            _doc(
                "Biên bản họp thành viên hộ gia đình (nếu các thành viên cùng kinh doanh)",
                "Minutes of the family meeting (if members run the business together)",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Giấy đề nghị đăng ký hộ kinh doanh",
            "required": ["business_name", "owner", "address", "activity", "capital"],
            "properties": {
                "business_name": _text("Tên hộ kinh doanh", 200),
                "owner": {**_PERSON, "title": "Chủ hộ kinh doanh"},
                "address": _text("Địa điểm kinh doanh", 300),
                "activity": _text("Ngành, nghề kinh doanh", 500),
                "capital": {"type": "integer", "minimum": 0, "title": "Vốn kinh doanh (đồng)"},
                "employees": {"type": "integer", "minimum": 0, "title": "Số lao động"},
            },
        },
    },
    {
        "code": "land-use-certificate",
        "national_code": "",
        "category": "land",
        "name": {
            "vi": "Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
            "en": "First land-use right certificate",
        },
        "description": {
            "vi": "Đăng ký đất đai và cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu tài "
            "sản gắn liền với đất lần đầu cho hộ gia đình, cá nhân. Xã miền núi, vùng sâu, "
            "vùng xa được cộng thêm 10 ngày làm việc. Lệ phí theo mức của Hội đồng nhân dân "
            "tỉnh.",
            "en": "Register land and issue the first certificate of land-use right and "
            "ownership of attached property to a household or person. Mountain and remote "
            "communes get 10 more working days. The fee is set by the provincial People's "
            "Council.",
        },
        "level": "province",
        "processing_days": 20,
        "fee": 100000,
        "online_level": "partial",
        "required_documents": [
            _doc(
                "Đơn đăng ký đất đai, tài sản gắn liền với đất (Mẫu 04/ĐK)",
                "Land and attached property registration form (form 04/ĐK)",
            ),
            _doc(
                "Giấy tờ về quyền sử dụng đất (nếu có)",
                "Papers on the land-use right (if any)",
                required=False,
            ),
            _doc(
                "Chứng từ thực hiện nghĩa vụ tài chính hoặc giấy tờ miễn, giảm (nếu có)",
                "Receipts of land charges paid, or of an exemption (if any)",
                required=False,
            ),
        ],
        "form_schema": {
            "type": "object",
            "title": "Đơn đăng ký đất đai, tài sản gắn liền với đất",
            "required": ["owner", "parcel", "use_purpose", "use_since"],
            "properties": {
                "owner": {**_PERSON, "title": "Người sử dụng đất"},
                "parcel": {
                    "type": "object",
                    "title": "Thửa đất",
                    "required": ["village", "area_m2"],
                    "properties": {
                        "map_sheet": _text("Tờ bản đồ số", 20),
                        "parcel_number": _text("Thửa đất số", 20),
                        "village": _text("Thôn/bản", 100),
                        "area_m2": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "title": "Diện tích (m²)",
                        },
                    },
                },
                "use_purpose": {
                    "type": "string",
                    "enum": ["residential", "annual_crops", "perennial_crops", "forest"],
                    "title": "Mục đích sử dụng",
                },
                "use_since": _date("Thời điểm bắt đầu sử dụng đất"),
            },
        },
    },
]


def translation_status(row: dict[str, Any]) -> dict[str, str]:
    """The review marks a demo row is seeded with: English reviewed, then what the row itself
    says (its samples)."""
    return {**ENGLISH_REVIEWED, **row.get("translation_status", {})}


def _unit(key: tuple[str, int] | None) -> AdministrativeUnit | None:
    if key is None:
        return None
    return AdministrativeUnit.objects.get(level=key[0], code=key[1])


@transaction.atomic
def seed_demo(progress: Progress = quiet) -> dict[str, int]:
    """Create or refresh the demo agencies, people and catalog. Safe to run again.
    `progress` wraps each loop (a bar when run from a terminal)."""
    agencies: dict[str, Agency] = {}
    for row in progress(AGENCIES, desc="agencies"):
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
    for person in progress(PEOPLE, desc="people"):
        user = User.objects.filter(phone=person["phone"]).first()
        if user is None:
            user = User.objects.create_user(person["phone"], DEMO_PASSWORD, full_name="")
        user.full_name = person["full_name"]
        user.is_staff = bool(person.get("staff") or person.get("superuser"))
        user.is_superuser = bool(person.get("superuser"))
        # Demo phones count as proven, so that what officers file for them shows at once.
        user.phone_verified_at = user.phone_verified_at or timezone.now()
        if person.get("home"):
            user.administrative_unit = _unit(("commune", person["home"]))
        user.save()
        if person.get("staff"):
            code, role = person["staff"]
            StaffMembership.objects.update_or_create(
                user=user, agency=agencies[code], defaults={"role": role}
            )
    categories = {}
    for row in progress(CATEGORIES, desc="categories"):
        categories[row["code"]], _created = ServiceCategory.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "position": row["position"],
                "translation_status": translation_status(row),
            },
        )
    for row in progress(SERVICES, desc="services"):
        fields = {k: v for k, v in row.items() if k not in ("code", "category")}
        PublicService.objects.update_or_create(
            code=row["code"],
            defaults={
                **fields,
                "category": categories[row["category"]],
                "translation_status": translation_status(row),
            },
        )
    return {"agencies": len(agencies), "people": len(PEOPLE), "services": len(SERVICES)}
