"""Parsing what busybox prints in a probe (pure logic; the real output is exercised by the
engine tests)."""

from __future__ import annotations

from grader.observe.batch import StepOutput, build_script, split_frames
from grader.observe.dns import DnsLookup, parse_nslookup
from grader.observe.http import HttpGet
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
    assert "'http://x/?a=1&b=2'" in HttpGet("http://x/?a=1&b=2").script()


def test_http_final_status_after_redirects() -> None:
    output = "  HTTP/1.1 302 Found\n  Location: /x\n  HTTP/1.1 200 OK\n"

    assert HttpGet("http://x/").parse(StepOutput(output, 0)).status == 200
    assert HttpGet("http://x/").parse(StepOutput("wget: can't connect", 1)).status is None


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
