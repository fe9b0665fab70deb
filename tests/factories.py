import factory
from factory.django import DjangoModelFactory

from accounts.models import User
from agencies.models import AdministrativeUnit, Agency, StaffMembership
from services.models import PublicService, ServiceCategory

PASSWORD = "DemoPass#2026"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("phone",)

    phone = factory.Sequence(lambda n: f"+8491{n:07d}")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class ProvinceFactory(DjangoModelFactory):
    class Meta:
        model = AdministrativeUnit
        django_get_or_create = ("level", "code")

    level = AdministrativeUnit.Level.PROVINCE
    code = factory.Sequence(lambda n: 100 + n)
    name = factory.Sequence(lambda n: f"Tỉnh {n}")
    search_name = factory.LazyAttribute(lambda o: o.name.lower())


class CommuneFactory(DjangoModelFactory):
    class Meta:
        model = AdministrativeUnit
        django_get_or_create = ("level", "code")

    level = AdministrativeUnit.Level.COMMUNE
    code = factory.Sequence(lambda n: 90000 + n)
    name = factory.Sequence(lambda n: f"Xã {n}")
    parent = factory.SubFactory(ProvinceFactory)
    search_name = factory.LazyAttribute(lambda o: o.name.lower())


class AgencyFactory(DjangoModelFactory):
    class Meta:
        model = Agency
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"agency-{n}")
    name = factory.Sequence(lambda n: f"Cơ quan {n}")
    level = Agency.Level.COMMUNE


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = StaffMembership

    user = factory.SubFactory(UserFactory, is_staff=True)
    agency = factory.SubFactory(AgencyFactory)
    role = StaffMembership.Role.OFFICER


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = ServiceCategory
        django_get_or_create = ("code",)

    code = "civil-status"
    name = {"vi": "Hộ tịch", "en": "Civil status"}


class ServiceFactory(DjangoModelFactory):
    class Meta:
        model = PublicService
        django_get_or_create = ("code",)

    code = "birth-registration"
    national_code = "1.001193"
    name = {"vi": "Đăng ký khai sinh", "en": "Birth registration"}
    description = {"vi": "Đăng ký khai sinh cho trẻ em.", "en": "Register a child's birth."}
    category = factory.SubFactory(CategoryFactory)
    level = PublicService.Level.COMMUNE
    processing_days = 3
    fee = 0
    online_level = PublicService.OnlineLevel.FULL
    form_schema = {
        "type": "object",
        "required": ["child"],
        "properties": {
            "child": {
                "type": "object",
                "required": ["full_name", "birth_date"],
                "properties": {
                    "full_name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "birth_date": {"type": "string", "format": "date"},
                },
            }
        },
    }
