"""Parsing what busybox prints in a probe (pure logic; the real output is exercised by the
engine tests)."""

from __future__ import annotations

import pytest

from grader.engine.facts import PortBinding
from grader.observe.dns import DnsLookup, parse_nslookup
from grader.observe.http import HttpGet, HttpResult, published_url
from grader.observe.steps import StepOutput, build_script, split_frames
from grader.observe.tcp import TcpConnect

TWO_ANSWERS = """\
Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

Non-authoritative answer:
Name:\tredis
Address: 172.23.0.2
Name:\tredis
Address: 172.23.0.3

"""


def test_nslookup_answers() -> None:
    answer = parse_nslookup("redis", StepOutput(TWO_ANSWERS, 0))

    assert (answer.outcome, answer.addresses) == ("answered", ("172.23.0.2", "172.23.0.3"))


def test_nslookup_does_not_take_the_server_for_an_answer() -> None:
    output = "Server:\t\t127.0.0.11\nAddress:\t127.0.0.11:53\n\n"

    assert parse_nslookup("redis", StepOutput(output, 0)).addresses == ()


def test_nslookup_nxdomain_and_timeout() -> None:
    nx = "Server: 127.0.0.11\n\n** server can't find redis: NXDOMAIN\n"

    assert parse_nslookup("redis", StepOutput(nx, 1)).outcome == "nxdomain"
    assert parse_nslookup("redis", StepOutput("", 143)).outcome == "no-reply"
    timed_out = ";; connection timed out; no servers could be reached\n"
    assert parse_nslookup("redis", StepOutput(timed_out, 1)).outcome == "no-reply"


#: A search list walked first (bind's nslookup, other probe images): NXDOMAIN, then the answer.
SEARCH_THEN_ANSWER = """\
Server:\t\t127.0.0.11
Address:\t127.0.0.11#53

** server can't find redis.example.invalid: NXDOMAIN
Server:\t\t127.0.0.11
Address:\t127.0.0.11#53

Non-authoritative answer:
Name:\tredis
Address: 172.23.0.2

"""

ANSWER_THEN_NXDOMAIN = """\
Server:\t\t127.0.0.11
Address:\t127.0.0.11:53

Non-authoritative answer:
Name:\tredis
Address: 172.23.0.2

** server can't find redis.example.invalid: NXDOMAIN

"""


def test_nslookup_addresses_win_over_an_nxdomain_of_another_query() -> None:
    for output, code in ((SEARCH_THEN_ANSWER, 0), (ANSWER_THEN_NXDOMAIN, 1)):
        answer = parse_nslookup("redis", StepOutput(output, code))

        assert (answer.outcome, answer.addresses) == ("answered", ("172.23.0.2",))


def test_nslookup_server_block_after_an_answer_is_not_an_answer() -> None:
    output = (
        "Name:\tredis.lan\nAddress: 10.1.2.3\n\n"
        "Server:\t\t127.0.0.11\nAddress: 127.0.0.11\n\n"
        "** server can't find redis: NXDOMAIN\n"
    )

    assert parse_nslookup("redis", StepOutput(output, 1)).addresses == ("10.1.2.3",)


def test_nslookup_nxdomain_for_every_query() -> None:
    output = (
        "** server can't find redis.example.invalid: NXDOMAIN\n"
        "** server can't find redis: NXDOMAIN\n"
    )

    assert parse_nslookup("redis", StepOutput(output, 1)).outcome == "nxdomain"


def test_step_scripts_quote_their_arguments() -> None:
    assert "'a b;rm -rf /'" in DnsLookup("a b;rm -rf /").script()
    assert "'$(reboot)'" in TcpConnect("$(reboot)", 1).script()
    assert "'/?a=1&b=2;reboot'" in HttpGet("http://x/?a=1&b=2;reboot").script()


def http(response: str, complaint: str = "") -> HttpResult:
    """What HttpGet reads: nc's complaint on the first line, then the response."""
    return HttpGet("http://127.0.0.1:8000/").parse(StepOutput(f"{complaint}\n{response}", 0))


def test_http_status_comes_from_the_status_line_only() -> None:
    answer = http("HTTP/1.0 204 No Content\r\nX-Upstream: HTTP/1.1 200 OK\r\n\r\n")

    assert (answer.status, answer.detail, answer.answered) == (204, "HTTP/1.0 204 No Content", True)


def test_http_redirect_is_its_own_status() -> None:
    answer = http("HTTP/1.1 302 Found\r\nLocation: http://elsewhere:8001/\r\n\r\n")

    assert answer.status == 302


def test_http_status_line_must_be_the_first_line() -> None:
    body_first = http("hello\r\nHTTP/1.1 200 OK\r\n\r\n")
    indented = http("  HTTP/1.1 200 OK\r\n\r\n")

    assert (body_first.status, body_first.answered) == (None, True)
    assert "hello" in body_first.detail
    assert indented.status is None


def test_http_status_line_forms() -> None:
    assert http("HTTP/1.1 200 OK\r\n").status == 200
    assert http("HTTP/1.0 404\r\n").status == 404
    assert http("HTTP/2 503 Service Unavailable\n").status == 503
    assert http("HTTP/1.1 2000 OK\r\n").status is None
    assert http("HTTP/1.1 OK 200\r\n").status is None


def test_http_no_answer_keeps_the_reason() -> None:
    refused = http("", "nc: can't connect to remote host (127.0.0.1): Connection refused  ")

    assert (refused.status, refused.answered) == (None, False)
    assert refused.detail == "nc: can't connect to remote host (127.0.0.1): Connection refused"


def test_http_get_reaches_the_url_it_is_given() -> None:
    script = HttpGet("http://[::1]:8000/v1/ping").script()

    assert " nc -w 5 ::1 8000 " in script
    assert "/v1/ping '[::1]:8000' " in script
    assert "wget" not in script


@pytest.mark.parametrize("url", ["https://x/", "http:///x", "http://x/a b", "http://x/\r\nX: y"])
def test_http_get_refuses_urls_it_cannot_request(url: str) -> None:
    with pytest.raises(ValueError, match="not an http:// URL"):
        HttpGet(url)


@pytest.mark.parametrize(
    ("host_ip", "url"),
    [
        ("", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),
        ("::", "http://[::1]:8000/"),
        ("::1", "http://[::1]:8000/"),
        ("127.0.0.2", "http://127.0.0.2:8000/"),
        ("192.0.2.7", "http://192.0.2.7:8000/"),
    ],
)
def test_published_url_is_where_the_binding_listens(host_ip: str, url: str) -> None:
    assert published_url(PortBinding(80, "tcp", host_ip, 8000)) == url


def test_frames_cannot_be_forged_by_step_output() -> None:
    nonce = "feedc0de"
    forged = b"@@00000000:end 0 0 0\n@@feedc0dX:begin 1\n"
    stdout = (
        b"@@feedc0de:begin 0\n" + forged + b"real\n@@feedc0de:end 0 0 20\n"
        b"@@feedc0de:begin 1\n\n@@feedc0de:end 1 7 0\n@@feedc0de:done\n"
    )

    frames = split_frames(stdout, nonce)

    assert frames[0].text == forged.decode() + "real"
    assert (frames[1].text, frames[1].exit_code) == ("", 7)


def test_script_has_one_frame_per_step() -> None:
    script = build_script([DnsLookup("redis"), TcpConnect("redis", 6379)], "abc")

    assert script.count("@@abc:begin") == 2
    assert script.endswith("echo '@@abc:done'")
