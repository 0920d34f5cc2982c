"""Tests for pipeline.pii: (input, expected) tables with a comment per case."""

from __future__ import annotations

import pytest

from pipeline.pii import MASK_KINDS, PII_KINDS, is_valid_iran_national_id, mask_pii

MASK_CASES = [
    # --- phones
    ("شماره من ۰۹۱۲۳۴۵۶۷۸۹ است", "شماره من <PHONE> است"),  # Persian digits, original kept
    ("09121234567", "<PHONE>"),  # Iranian mobile
    ("0912 123 4567", "<PHONE>"),  # with spaces
    ("0912-123-45-67", "<PHONE>"),  # with dashes
    ("+98 912 123 4567", "<PHONE>"),  # international +98
    ("00989121234567", "<PHONE>"),  # international 0098
    ("0912.123.4567", "<PHONE>"),  # with dots
    ("تماس 021-88888888", "تماس <PHONE>"),  # Tehran landline
    ("(021) 8888 8888", "<PHONE>"),  # landline with parentheses
    ("اتصل +966 50 123 4567", "اتصل <PHONE>"),  # Saudi international
    ("رقمي 0551234567", "رقمي <PHONE>"),  # Saudi/UAE national
    ("+971 55 123 4567", "<PHONE>"),  # UAE
    ("+965 5123 4567", "<PHONE>"),  # Kuwait
    ("01012345678", "<PHONE>"),  # Egypt mobile
    ("+20 10 1234 5678", "<PHONE>"),  # Egypt international
    ("رقمي ٠٥٥١٢٣٤٥٦٧", "رقمي <PHONE>"),  # Arabic-Indic digits
    ("زنگ زدم0912-123-4567ولی", "زنگ زدم <PHONE> ولی"),  # glued: spaces added
    # --- e-mail and URLs
    ("email me ali.r@gmail.com now", "email me <EMAIL> now"),  # e-mail
    ("Ali.Rezaei+1@Yahoo.COM", "<EMAIL>"),  # upper case
    ("http://snappfood.ir/order/123", "<URL>"),  # http URL with digits
    ("سایت https://x.com/a?b=1.", "سایت <URL> ."),  # trailing dot left out
    ("www.digikala.com/product/123", "<URL>"),  # www.
    ("digikala.com خراب است", "<URL> خراب است"),  # bare domain
    # --- bank data and ids
    ("IR06 0120 0200 0000 0123 4567 89", "<IBAN>"),  # Sheba with IR, grouped
    ("ir062960000000100324200001", "<IBAN>"),  # Sheba, lower-case, plain
    ("SA03 8000 0000 6080 1016 7519", "<IBAN>"),  # Saudi IBAN
    ("شبا 120120020000000123456789", "شبا <IBAN>"),  # Sheba without IR after keyword
    ("6037-9911-2345-6789", "<CARD>"),  # card with dashes
    ("کارت ۶۰۳۷ ۹۹۱۱ ۲۳۴۵ ۶۷۸۹", "کارت <CARD>"),  # card, Persian digits and spaces
    ("6037991123456789", "<CARD>"),  # card plain
    ("کد ملی ۰۰۸۴۵۷۵۹۴۸", "کد ملی <NATIONAL_ID>"),  # national id after keyword
    ("کدملی: 1234567890", "کدملی: <NATIONAL_ID>"),  # keyword, checksum not needed
    ("0084575948", "<NATIONAL_ID>"),  # bare, valid checksum
    ("1234567890", "<NUMBER>"),  # bare 10 digits, invalid checksum -> safety net
    # --- order ids
    ("کد پیگیری: 123456789", "کد پیگیری: <ORDER_ID>"),  # tracking code
    ("شماره سفارش ۹۸۷۶۵۴", "شماره سفارش <ORDER_ID>"),  # 6 digits after keyword
    ("رقم الطلب 98765432", "رقم الطلب <ORDER_ID>"),  # Arabic order number
    ("الشحنة رقم 123456789", "الشحنة رقم <ORDER_ID>"),  # Arabic shipment
    ("order #ABC-1234567", "order # <ORDER_ID>"),  # English, letter prefix masked too
    ("سفارش 2 ساعت دیر رسید", "سفارش 2 ساعت دیر رسید"),  # small numbers after keyword stay
    # --- what must stay
    ("قیمت ۱۲۰۰۰۰۰ تومان", "قیمت ۱۲۰۰۰۰۰ تومان"),  # price with currency
    ("السعر 1500000 ريال", "السعر 1500000 ريال"),  # Arabic price
    ("تاریخ 1402-05-12", "تاریخ 1402-05-12"),  # date
    ("امتیاز 4.5 از 5", "امتیاز 4.5 از 5"),  # rating
    ("ساعت 12:30 رسید", "ساعت 12:30 رسید"),  # time
    ("123456", "123456"),  # six digits without a keyword
    ("غذا سرد بود", "غذا سرد بود"),  # nothing to mask
    ("", ""),  # empty
    # --- safety net
    ("کد 1.200.000", "کد <NUMBER>"),  # long number without a currency
    ("98765432", "<NUMBER>"),  # 8 digits
]


@pytest.mark.parametrize(("text", "expected"), MASK_CASES)
def test_mask_pii_table(text, expected):
    assert mask_pii(text)[0] == expected


def test_counts_per_kind_include_zeros():
    masked, counts = mask_pii("09121234567 و 09351234567 و a@b.com")
    assert masked == "<PHONE> و <PHONE> و <EMAIL>"
    assert counts == {
        "email": 1, "url": 0, "iban": 0, "card": 0, "national_id": 0, "phone": 2,
        "order_id": 0, "number": 0,
    }
    assert set(PII_KINDS) < set(counts) == set(MASK_KINDS)


def test_kinds_subset_and_empty_set():
    text = "a@b.com 09121234567"
    assert mask_pii(text, frozenset({"email"})) == ("<EMAIL> 09121234567", {"email": 1})
    assert mask_pii(text, frozenset()) == (text, {})


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="unknown PII kinds"):
        mask_pii("x", frozenset({"passport"}))


@pytest.mark.parametrize(
    ("digits", "valid"),
    [
        ("0084575948", True),  # valid
        ("0499370899", True),  # valid, remainder < 2 rule path
        ("1111111111", False),  # all same digits
        ("0084575949", False),  # wrong check digit
        ("123", False),  # too short
    ],
)
def test_iran_national_id_checksum(digits, valid):
    assert is_valid_iran_national_id(digits) is valid
