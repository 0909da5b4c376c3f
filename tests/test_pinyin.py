from cloudhospital.pinyin import initials, matches


def test_initials_of_drugs_doctors_and_clinics():
    assert initials("氨氯地平") == ("aldp",)
    assert initials("陈晓敏") == ("cxm",)
    assert "gxy" in initials("高血压云诊室")[0]


def test_a_lone_heteronym_gives_every_reading_and_a_phrase_its_own():
    assert {"c", "z"} <= set(initials("长"))  # cháng / zhǎng
    assert initials("重庆") == ("cq",)  # the phrase's reading, chóng


def test_matches_chinese_english_and_initials_but_not_strangers():
    assert matches("aldp", "氨氯地平")
    assert matches("地平", "氨氯地平")
    assert matches("AMLO", "氨氯地平", "Amlodipine")
    assert matches("cxm", "陈晓敏")
    assert not matches("xyz", "陈晓敏", "Chen Xiaomin")
    assert matches("", "anything")
