from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("services", "0005_notification_templates"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicerequest",
            name="applicant_name_snapshot",
            field=models.CharField(
                blank=True, max_length=150, verbose_name="họ tên người nộp (lưu giữ)"
            ),
        ),
        migrations.AddField(
            model_name="servicerequest",
            name="applicant_phone_snapshot",
            field=models.CharField(
                blank=True, max_length=20, verbose_name="số điện thoại người nộp (lưu giữ)"
            ),
        ),
        migrations.AddField(
            model_name="servicerequest",
            name="applicant_erased_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="người nộp xoá tài khoản lúc"
            ),
        ),
        migrations.AddField(
            model_name="servicerequest",
            name="pseudonymised_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="ẩn danh hoá lúc"),
        ),
    ]
