from uuid import UUID

import pytest

from app.exports.naming import ascii_slug, content_disposition, project_slug

PROJECT_ID = UUID("01a216b0-f832-7132-9e92-d642360ba8f3")


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Coffee Shop", "coffee-shop"),
        ("Мой проект!", "мой-проект"),
        ("  Ünïcode — naïve café  ", "ünïcode-naïve-café"),
        ("咖啡 店", "咖啡-店"),
        ("हिन्दी परियोजना", "हिन्दी-परियोजना"),
        ("தமிழ் திட்டம்", "தமிழ்-திட்டம்"),
        ('a/b\\c:d*e?f"g<h>i|j', "a-b-c-d-e-f-g-h-i-j"),
        ("../../etc/passwd", "etc-passwd"),
        ("snake_case__name", "snake-case-name"),
        ("ＦＵＬＬＷＩＤＴＨ", "fullwidth"),
        ("CON", "con-project"),
        ("🚀🚀", "project-01a216b0"),
        ("   ", "project-01a216b0"),
        ("x" * 300, "x" * 60),
    ],
)
def test_project_slug_keeps_letters_of_every_script(name: str, slug: str) -> None:
    assert project_slug(name, PROJECT_ID) == slug


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Café Ünïcode", "cafe-unicode"),
        ("Мой проект v2", "project-01a216b0"),
        ("我的项目 2", "project-01a216b0"),
        ("Мой проект", "project-01a216b0"),
        ('quote" ; attack', "quote-attack"),
    ],
)
def test_ascii_slug_drops_what_has_no_ascii_form(name: str, slug: str) -> None:
    assert ascii_slug(name, PROJECT_ID) == slug


def test_content_disposition_carries_both_forms_in_ascii() -> None:
    header = content_disposition('мой "проект"; x.zip', "fallback.zip")
    assert header == (
        'attachment; filename="fallback.zip"; '
        "filename*=UTF-8''%D0%BC%D0%BE%D0%B9%20%22%D0%BF%D1%80%D0%BE%D0%B5%D0%BA%D1%82%22%3B%20x.zip"
    )
    header.encode("latin-1")  # a header value must be encodable as latin-1


def test_a_long_name_is_cut_before_a_letter_not_inside_one() -> None:
    # "ि" (a vowel sign) belongs to the letter before it; a cut must not separate them.
    name = "क" * 59 + "कि"
    slug = project_slug(name, PROJECT_ID)
    assert slug == "क" * 59
