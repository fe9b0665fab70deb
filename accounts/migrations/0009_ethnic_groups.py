"""The 54 ethnic groups of Vietnam, in the order and with the codes of the General Statistics
Office's list (Quyết định 1019/QĐ-TCTK, 12/11/2008), with some of their other names."""

from django.db import migrations

GROUPS = [
    ("01", "Kinh", ["Việt"]),
    ("02", "Tày", ["Thổ", "Ngạn", "Phén", "Thù Lao", "Pa Dí"]),
    ("03", "Thái", ["Tày Khao", "Tày Đăm", "Tày Mười", "Tày Thanh", "Hàng Tổng", "Pu Thay"]),
    ("04", "Mường", ["Mol", "Mual", "Mọi Bi", "Ao Tá"]),
    ("05", "Khơ Me", ["Khmer", "Cur", "Cul", "Cu", "Việt gốc Miên", "Khơ Me Krôm"]),
    ("06", "Hoa", ["Hán", "Triều Châu", "Phúc Kiến", "Quảng Đông", "Hải Nam", "Hẹ", "Xạ Phạng"]),
    ("07", "Nùng", ["Xuồng", "Giang", "Nùng An", "Phàn Slinh", "Nùng Cháo", "Nùng Lòi"]),
    ("08", "Mông", ["H'Mông", "Mèo", "Mẹo", "Mèo Xanh", "Mèo Đỏ", "Mèo Đen", "Ná Mẻo"]),
    ("09", "Dao", ["Mán", "Động", "Trại", "Xá", "Dìu Miền", "Kiềm Miền", "Quần Trắng", "Dao Đỏ"]),
    ("10", "Gia Rai", ["Giơ-rai", "Tơ-buăn", "Chơ-rai", "Hđrung", "Hơ-bau", "Chor"]),
    ("11", "Ê Đê", ["Ra-đê", "Đê", "Kpạ", "A-đham", "Krung", "Ktul", "Mđhur", "Bih"]),
    ("12", "Ba Na", ["Gơ-lar", "Tơ-lô", "Giơ-lâng", "Rơ-ngao", "Krem", "Roh", "Kpăng Công"]),
    ("13", "Sán Chay", ["Cao Lan", "Sán Chỉ", "Mán Cao Lan", "Hờn Bạn"]),
    ("14", "Chăm", ["Chàm", "Chiêm Thành", "Hroi"]),
    ("15", "Cơ Ho", ["Xrê", "Nốp", "Tu-lốp", "Cơ-don", "Chil", "Lat", "Trinh"]),
    ("16", "Xơ Đăng", ["Xơ-teng", "Hđang", "Tơ-đra", "Mơ-nâm", "Ha-lăng", "Ca-dong"]),
    ("17", "Sán Dìu", ["Sán Déo", "Trại", "Trại Đất", "Mán Quần Cộc"]),
    ("18", "Hrê", ["Chăm Rê", "Chom", "Krẹ", "Lũy"]),
    ("19", "Ra Glai", ["Ra-clây", "Rai", "La Oang", "Noang"]),
    ("20", "Mnông", ["Pnông", "Nông", "Pré", "Bu-đâng", "ĐiPri", "Biat", "Gar", "Rơ-lam"]),
    ("21", "Thổ", ["Kẹo", "Mọn", "Cuối", "Họ", "Đan Lai", "Ly Hà", "Tày Pọng"]),
    ("22", "Xtiêng", ["Xa Điêng", "X'Tiêng"]),
    ("23", "Khơ Mú", ["Xá Cẩu", "Mứn Xen", "Pu Thênh", "Tềnh", "Tày Hay"]),
    ("24", "Bru-Vân Kiều", ["Bru", "Vân Kiều", "Măng Coong", "Tri", "Khùa"]),
    ("25", "Cơ Tu", ["Ca-tu", "Cao", "Hạ", "Phương", "Ca-tang"]),
    ("26", "Giáy", ["Nhắng", "Dẩng", "Pầu Thìn Nu Nà", "Cùi Chu", "Xa"]),
    ("27", "Tà Ôi", ["Tôi-ôi", "Pa-co", "Pa-hi", "Ba-hi"]),
    ("28", "Mạ", ["Châu Mạ", "Mạ Ngăn", "Mạ Xóp", "Mạ Tô", "Mạ Krung"]),
    ("29", "Giẻ-Triêng", ["Đgiéh", "Tareb", "Giang Rẫy Pin", "Triêng", "Treng", "Ve", "La-ve"]),
    ("30", "Co", ["Cor", "Col", "Cùa", "Trầu"]),
    ("31", "Chơ Ro", ["Dơ-ro", "Châu-ro"]),
    ("32", "Xinh Mun", ["Puộc", "Pụa"]),
    ("33", "Hà Nhì", ["U Ni", "Xá U Ni"]),
    ("34", "Chu Ru", ["Chơ-ru", "Chu"]),
    ("35", "Lào", ["Là Bốc", "Lào Nọi"]),
    ("36", "La Chí", ["Cù Tê", "La Quả"]),
    ("37", "Kháng", ["Xá Khao", "Xá Súa", "Xá Dón", "Xá Dẩng", "Xá Hốc", "Xá Ái", "Xá Bung"]),
    ("38", "Phù Lá", ["Bồ Khô Pạ", "Mu Di", "Pạ Xá", "Phó", "Phổ", "Va Xơ"]),
    ("39", "La Hủ", ["Lao", "Pu Đang", "Khù Xung", "Cò Xung", "Khả Quy"]),
    ("40", "La Ha", ["Xá Khao", "Khlá Phlạo"]),
    ("41", "Pà Thẻn", ["Pà Hưng", "Tống"]),
    ("42", "Lự", ["Lừ", "Nhuồn", "Duôn"]),
    ("43", "Ngái", ["Xín", "Lê", "Đản", "Khách Gia"]),
    ("44", "Chứt", ["Rục", "Sách", "Mày", "A-rem", "Mã Liềng"]),
    ("45", "Lô Lô", ["Mun Di"]),
    ("46", "Mảng", ["Mảng Ư", "Xá Lá Vàng"]),
    ("47", "Cơ Lao", []),
    ("48", "Bố Y", ["Chủng Chá", "Trọng Gia", "Tu Dí", "Tu Dìn"]),
    ("49", "Cống", ["Xắm Khống", "Mấng Nhé", "Xá Xeng"]),
    ("50", "Si La", ["Cù Dề Xừ", "Khả Pẻ"]),
    ("51", "Pu Péo", ["Ka Pèo", "Pen Ti Lô Lô"]),
    ("52", "Rơ Măm", []),
    ("53", "Brâu", ["Brao"]),
    ("54", "Ơ Đu", ["Tày Hạt"]),
]


def load(apps, schema_editor):
    EthnicGroup = apps.get_model("accounts", "EthnicGroup")
    for code, name, other_names in GROUPS:
        EthnicGroup.objects.update_or_create(
            code=code, defaults={"name": name, "other_names": other_names}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_data_rights"),
    ]

    operations = [
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
