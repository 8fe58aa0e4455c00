"""WeCom crypto: wechatpy's published test vectors, and round trips against wechatpy as an independent implementation."""

from __future__ import annotations

import base64
import re

import pytest
from wechatpy.enterprise.crypto import WeChatCrypto

from rectbot.bot.wecom_crypto import CryptoError, WeComCrypto, signature

TOKEN = "123456"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
CORP_ID = "wx49f0ab532d5d035a"
ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
MESSAGE = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzx"
    "h6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiO"
    "AQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvcc"
    "TKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)
REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
REPLY_ENCRYPTED = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObve"
    "sEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrr"
    "NrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPo"
    "QJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, KEY, CORP_ID)


def test_published_url_verification_vector(crypto: WeComCrypto) -> None:
    crypto.check_signature("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", ECHO)
    assert crypto.decrypt(ECHO) == "5927782489442352469"
    with pytest.raises(CryptoError):  # the published failing case: another nonce
        crypto.check_signature("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", ECHO)


def test_published_message_vector(crypto: WeComCrypto) -> None:
    crypto.check_signature("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", MESSAGE)
    message = crypto.decrypt(MESSAGE)
    assert "<Content><![CDATA[test]]></Content>" in message
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in message


def test_published_reply_vector() -> None:
    fixed = WeComCrypto(TOKEN, KEY, CORP_ID, random_bytes=lambda n: b"1234567890123456"[:n])
    encrypted = fixed.encrypt(REPLY)
    assert encrypted == REPLY_ENCRYPTED
    assert fixed.sign("1411525903", "461056294", encrypted) == "407518b7649e86ef23978113f92d27afa9296533"


@pytest.mark.parametrize("length", [0, 1, 11, 12, 13, 27, 28, 29, 44, 100, 2048])
def test_round_trips_with_wechatpy_at_every_padding_length(crypto: WeComCrypto, length: int) -> None:
    """Plaintexts landing on every side of a 32-byte boundary, so pad values up to 32 occur."""
    text = ("整顿软弱涣散a" * 400)[:length]
    xml = f"<xml><Content><![CDATA[{text}]]></Content></xml>"
    theirs = WeChatCrypto(TOKEN, KEY, CORP_ID)
    # ours -> wechatpy
    encrypted = crypto.encrypt(xml)
    envelope = (f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt><MsgSignature><![CDATA["
                f"{crypto.sign('1', '2', encrypted)}]]></MsgSignature><TimeStamp>1</TimeStamp>"
                f"<Nonce><![CDATA[2]]></Nonce></xml>")
    assert theirs.decrypt_message(envelope, crypto.sign("1", "2", encrypted), "1", "2") == xml
    # wechatpy -> ours
    sealed = theirs.encrypt_message(xml, "2", "1")
    encrypted = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
    given = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
    crypto.check_signature(given, "1", "2", encrypted)
    assert crypto.decrypt(encrypted) == xml


def test_a_message_for_another_corp_is_refused(crypto: WeComCrypto) -> None:
    other = WeComCrypto(TOKEN, KEY, "ww_other_corp")
    with pytest.raises(CryptoError, match="CorpID"):
        crypto.decrypt(other.encrypt("<xml/>"))


@pytest.mark.parametrize("junk", ["", "not base64!", base64.b64encode(b"x" * 15).decode(),
                                  base64.b64encode(b"x" * 32).decode()])
def test_malformed_ciphertext_is_refused(crypto: WeComCrypto, junk: str) -> None:
    with pytest.raises(CryptoError):
        crypto.decrypt(junk)


def test_a_bad_key_is_refused_at_start() -> None:
    with pytest.raises(CryptoError, match="43"):
        WeComCrypto(TOKEN, KEY[:-2], CORP_ID)


def test_signature_is_order_independent_sha1() -> None:
    assert signature("b", "a", "c", "d") == signature("d", "c", "b", "a")
