"""The fake WeCom API answers gettoken, message/send and media/get like WeCom, and records what it saw."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from testkit.fakes.wecom_api import AGENT_ID, CORP_ID, SECRET, FakeWeComApi, SeenRequest, SentMessage

logger = logging.getLogger(__name__)

USER = "zhangsan"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComApi]:
    """A running fake server."""
    async with FakeWeComApi() as server:
        yield server


@pytest.fixture
async def client(fake: FakeWeComApi) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client pointed at the fake."""
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=5.0) as http:
        yield http


async def get_token(
    client: httpx.AsyncClient, corpid: str = CORP_ID, corpsecret: str = SECRET
) -> dict[str, Any]:
    """Calls gettoken and returns the JSON answer (always HTTP 200)."""
    response = await client.get("/cgi-bin/gettoken", params={"corpid": corpid, "corpsecret": corpsecret})
    assert response.status_code == 200
    return response.json()


def text_message(content: str, agentid: Any = AGENT_ID, touser: str = USER) -> dict[str, Any]:
    """A message/send body for a text message."""
    return {"touser": touser, "msgtype": "text", "agentid": agentid, "text": {"content": content}, "safe": 0}


async def send(client: httpx.AsyncClient, token: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """Calls message/send and returns the JSON answer (always HTTP 200)."""
    params = {} if token is None else {"access_token": token}
    response = await client.post("/cgi-bin/message/send", params=params, json=body)
    assert response.status_code == 200
    return response.json()


async def test_gettoken_ok_and_wrong_credentials(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """A right corpid/secret gets a fresh token; wrong or missing ones get WeCom's error codes."""
    first = await get_token(client)
    assert first["errcode"] == 0 and first["errmsg"] == "ok" and first["expires_in"] == 7200
    second = await get_token(client)
    assert isinstance(first["access_token"], str) and len(first["access_token"]) >= 32
    assert second["access_token"] != first["access_token"]
    assert await get_token(client, corpsecret="wrong") == {"errcode": 40001, "errmsg": "invalid credential"}
    assert await get_token(client, corpid="wwwrong") == {"errcode": 40013, "errmsg": "invalid corpid"}
    missing_corpid = (await client.get("/cgi-bin/gettoken", params={"corpsecret": SECRET})).json()
    missing_secret = (await client.get("/cgi-bin/gettoken", params={"corpid": CORP_ID})).json()
    assert (missing_corpid["errcode"], missing_secret["errcode"]) == (41002, 41004)
    assert fake.token_requests == 6
    assert [entry["errcode"] for entry in fake.rejected] == [40001, 40013, 41002, 41004]


async def test_send_is_recorded(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """An accepted message answers a msgid, appears in sent and wait_for_sent returns it once."""
    token = (await get_token(client))["access_token"]
    answer = await send(client, token, text_message("你好，世界"))
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["invaliduser"] == ""
    assert answer["msgid"]
    message = await fake.wait_for_sent(lambda m: m.touser == USER, timeout=1.0)
    assert message == SentMessage(
        touser=USER,
        agentid=AGENT_ID,
        msgtype="text",
        content="你好，世界",
        access_token=token,
        body=text_message("你好，世界"),
    )
    assert fake.rejected == []
    await fake.nothing_sent(wait=0.05)  # the one message was consumed
    with pytest.raises(AssertionError, match="你好"):  # the failure lists what was sent
        await fake.wait_for_sent(timeout=0.05)
    await send(client, token, text_message("second"))
    with pytest.raises(AssertionError, match="unexpected WeCom message"):
        await fake.nothing_sent(wait=0.05)


async def test_missing_unknown_and_expired_tokens(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """No token gives 41001, an unknown one 40014, an expired one 42001; a new token works again."""
    body = text_message("hello")
    assert await send(client, None, body) == {"errcode": 41001, "errmsg": "access_token missing"}
    assert await send(client, "not-a-token", body) == {"errcode": 40014, "errmsg": "invalid access_token"}
    old = (await get_token(client))["access_token"]
    assert (await send(client, old, body))["errcode"] == 0
    fake.expire_tokens()
    assert await send(client, old, body) == {"errcode": 42001, "errmsg": "access_token expired"}
    new = (await get_token(client))["access_token"]
    assert (await send(client, new, body))["errcode"] == 0
    assert [m.access_token for m in fake.sent] == [old, new]
    assert [entry["errcode"] for entry in fake.rejected] == [41001, 40014, 42001]
    assert fake.rejected[-1]["body"] == body


async def test_tokens_expire_after_expires_in() -> None:
    """A token stops working once its expires_in has passed (0 s here)."""
    async with FakeWeComApi(expires_in=0) as short, httpx.AsyncClient(base_url=short.base_url) as http:
        answer = await get_token(http)
        assert answer["expires_in"] == 0
        assert (await send(http, answer["access_token"], text_message("hi")))["errcode"] == 42001
        assert short.sent == []


async def test_content_limit_is_2048_utf8_bytes(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """2048 bytes of UTF-8 pass, 2049 bytes (683 Chinese characters) give 45002; empty content 44004."""
    token = (await get_token(client))["access_token"]
    too_long = "中" * 683
    assert len(too_long.encode("utf-8")) == 2049
    assert await send(client, token, text_message(too_long)) == {
        "errcode": 45002,
        "errmsg": "content size out of limit",
    }
    just_fits = "中" * 682 + "ab"
    assert len(just_fits.encode("utf-8")) == 2048
    assert (await send(client, token, text_message(just_fits)))["errcode"] == 0
    assert (await fake.wait_for_sent(timeout=1.0)).content == just_fits
    assert await send(client, token, text_message("")) == {"errcode": 44004, "errmsg": "empty content"}
    assert [entry["errcode"] for entry in fake.rejected] == [45002, 44004]


@pytest.mark.parametrize("agentid", ["1000002", 1000003, None, True])
async def test_bad_agentid(fake: FakeWeComApi, client: httpx.AsyncClient, agentid: Any) -> None:
    """An agentid that is not the int AGENT_ID gives 40056."""
    token = (await get_token(client))["access_token"]
    assert await send(client, token, text_message("hi", agentid=agentid)) == {
        "errcode": 40056,
        "errmsg": "invalid agentid",
    }
    assert fake.sent == []


async def test_bad_json_and_unknown_paths(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """Invalid JSON gives 47001; unknown paths and methods give 404 with errcode -1."""
    token = (await get_token(client))["access_token"]
    response = await client.post(
        "/cgi-bin/message/send",
        params={"access_token": token},
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert response.json() == {"errcode": 47001, "errmsg": "data format error"}
    wrong = [("GET", "/cgi-bin/message/send"), ("POST", "/cgi-bin/gettoken"), ("GET", "/cgi-bin/user/get")]
    for method, path in wrong:
        response = await client.request(method, path, params={"access_token": token})
        assert (response.status_code, response.json()) == (404, {"errcode": -1, "errmsg": "not found"})
    assert [entry["errcode"] for entry in fake.rejected] == [47001, -1, -1, -1]
    assert fake.rejected[0]["body"] == "{not json"


async def test_token_requests_counts_every_gettoken(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """token_requests counts gettoken calls, successful or not, and nothing else."""
    assert fake.token_requests == 0
    token = (await get_token(client))["access_token"]
    await send(client, token, text_message("one"))
    await send(client, token, text_message("two"))
    assert fake.token_requests == 1
    await get_token(client, corpsecret="wrong")
    await get_token(client)
    assert fake.token_requests == 3
    assert [m.content for m in fake.sent] == ["one", "two"]


async def get_media(client: httpx.AsyncClient, token: str | None, media_id: str | None) -> httpx.Response:
    """Calls media/get."""
    params = {key: value for key, value in (("access_token", token), ("media_id", media_id)) if value is not None}
    return await client.get("/cgi-bin/media/get", params=params)


async def test_media_get_serves_the_bytes_with_their_name_and_length(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """A stored file comes back byte for byte, with Content-Length and a Content-Disposition naming it."""
    token = (await get_token(client))["access_token"]
    data = "第一段。\n".encode() * 40_000  # several chunks
    media_id = fake.add_media(data, "报告.txt", content_type="text/plain")
    response = await get_media(client, token, media_id)
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-length"] == str(len(data))
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers.raw[-1] == (b"content-disposition", 'attachment; filename="报告.txt"'.encode())
    assert fake.media_requests == [SeenRequest("GET", "/cgi-bin/media/get", {"access_token": token, "media_id": media_id})]
    assert fake.rejected == []


async def test_media_get_rfc5987_name_and_no_length(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """RFC 5987 names carry UTF-8 percent-encoded; without Content-Length the body is chunked; no name, no header."""
    token = (await get_token(client))["access_token"]
    named = fake.add_media(b"abc", "整顿 报告.txt", disposition="rfc5987", content_length=False)
    response = await get_media(client, token, named)
    assert response.content == b"abc" and "content-length" not in response.headers
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"__ __.txt\"; filename*=UTF-8''%E6%95%B4%E9%A1%BF%20%E6%8A%A5%E5%91%8A.txt"
    )
    unnamed = fake.add_media(b"xyz", None)
    response = await get_media(client, token, unnamed)
    assert response.content == b"xyz" and "content-disposition" not in response.headers


async def test_media_get_errors_are_json_errcodes_and_recorded(fake: FakeWeComApi, client: httpx.AsyncClient) -> None:
    """An unknown media_id gives 40007, a missing one 41006, a bad token 40014; every request is recorded."""
    token = (await get_token(client))["access_token"]
    media_id = fake.add_media(b"abc", "a.txt")
    answers = [
        await get_media(client, token, "not-a-media-id"),
        await get_media(client, token, None),
        await get_media(client, "not-a-token", media_id),
        await get_media(client, None, media_id),
    ]
    assert all(answer.status_code == 200 and answer.headers["content-type"] == "application/json" for answer in answers)
    assert [answer.json()["errcode"] for answer in answers] == [40007, 41006, 40014, 41001]
    assert answers[0].json() == {"errcode": 40007, "errmsg": "invalid media_id"}
    assert [entry["errcode"] for entry in fake.rejected] == [40007, 41006, 40014, 41001]
    assert len(fake.media_requests) == 4 and [seen.path for seen in fake.requests][0] == "/cgi-bin/gettoken"
