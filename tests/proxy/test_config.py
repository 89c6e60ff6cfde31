"""Flags and TOML file -> ProxyConfig: parsing, merging, validation messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.cli import parse_command_line
from proxy.config.build import (
    ConfigError,
    Endpoint,
    ProxyConfig,
    TlsOptions,
    build_config,
    distinct_tls,
    load_toml,
    parse_ciphers,
    parse_map,
)
from proxy.config.certificates import TlsMaterial
from proxy.config.profiles import profile_for


def cfg(*argv: str) -> ProxyConfig:
    return parse_command_line(list(argv))


# -- parse_map ------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "listen", "remote"), [
    ("9000=api.example.com:443", ("127.0.0.1", 9000), ("api.example.com", 443)),
    ("0.0.0.0:9000=10.0.0.1:8883", ("0.0.0.0", 9000), ("10.0.0.1", 8883)),
    ("localhost:1=h:65535", ("localhost", 1), ("h", 65535)),
    ("[::1]:9000=[2001:db8::1]:443", ("::1", 9000), ("2001:db8::1", 443)),
    ("0=example.org:443", ("127.0.0.1", 0), ("example.org", 443)),
])
def test_parse_map_accepts(spec, listen, remote):
    assert parse_map(spec) == (Endpoint(*listen), Endpoint(*remote))


@pytest.mark.parametrize(("spec", "words"), [
    ("9000", "expected [BIND:]LPORT=HOST:RPORT"),
    ("9000=", "expected [BIND:]LPORT=HOST:RPORT"),
    ("=host:443", "expected [BIND:]LPORT=HOST:RPORT"),
    ("9000=host", "lacks HOST:PORT"),
    ("abc=api.example.com:443", "the local port 'abc' is not a number"),
    ("127.0.0.1:abc=api.example.com:443", "port 'abc' is not a number"),
    ("9000=host:https", "'https' is not a number"),
    ("9000=host:0", "outside 1-65535"),
    ("70000=host:443", "outside 0-65535"),
    ("9000=host:443=x", "expected"),
    ("::1:9000=host:443", "[ADDR]:PORT"),
    ("9000=bad host:443", "neither a host name nor an IP"),
    ("9000=-x:443", "neither a host name nor an IP"),
])
def test_parse_map_rejects_with_a_hint(spec, words):
    with pytest.raises(ConfigError) as info:
        parse_map(spec)
    message = str(info.value)
    assert words in message
    assert "\n" not in message
    assert spec in message


def test_ciphers():
    assert parse_ciphers("0xC02F,0X0035") == (0xC02F, 0x0035)
    assert parse_ciphers(["0xc02f", 0xFFFF]) == (0xC02F, 0xFFFF)
    with pytest.raises(ConfigError, match="0x1234 is not a cipher suite the module knows"):
        parse_ciphers("0x1234")
    with pytest.raises(ConfigError, match="'AES' is not a cipher suite code"):
        parse_ciphers("AES")


# -- defaults and flags -----------------------------------------------------------

def test_secure_defaults():
    config = cfg("--map", "9000=api.example.com:443")
    (m,) = config.maps
    assert m.listen == Endpoint("127.0.0.1", 9000)
    assert m.tls == TlsOptions()
    assert m.tls.version == "1.2" and not m.tls.insecure and m.tls.sni
    assert config.apn is None
    assert config.device is None
    assert config.max_connections == 12
    assert config.queue_timeout == 30.0
    assert config.grace == 5.0
    assert config.verbose == 0


def test_sni_is_off_for_ip_literals_only():
    config = cfg("--map", "9000=api.example.com:443", "--map", "9001=10.1.2.3:443")
    by_host = {m.remote.host: m.effective_tls.sni for m in config.maps}
    assert by_host == {"api.example.com": True, "10.1.2.3": False}
    assert len(distinct_tls(config)) == 2
    config = cfg("--map", "9000=api.example.com:443", "--no-sni")
    assert config.maps[0].effective_tls.sni is False


def test_all_flags():
    config = cfg(
        "--device", "/dev/ttyUSB2", "--baud", "921600", "--rtscts",
        "--apn", "internet", "--apn-user", "u", "--apn-password", "secret",
        "--pdp-context", "2", "--map", "9000=a.example:443", "--map", "0.0.0.0:9001=b:8883",
        "--tls-version", "all", "--ciphers", "0xC02F", "--negotiate-timeout", "60",
        "--max-connections", "2", "--queue-timeout", "0.5", "--grace", "1",
        "--status", "8080", "--at-console", "0.0.0.0:2323", "-vv", "--trace-at",
    )
    assert config.device == "/dev/ttyUSB2" and config.baud == 921600 and config.rtscts
    auto = parse_command_line(["--device", "/dev/ttyUSB2", "--baud", "auto", "--map", "9000=h:1"])
    assert auto.baud is None  # found at start
    assert (config.apn, config.apn_user, config.apn_password) == ("internet", "u", "secret")
    assert config.apn_auth == 3  # PAP or CHAP once a user is given
    assert config.pdp_context == 2
    assert [str(m.listen) for m in config.maps] == ["127.0.0.1:9000", "0.0.0.0:9001"]
    assert {m.tls.version for m in config.maps} == {"all"}
    assert config.maps[0].tls.ciphers == (0xC02F,)
    assert config.maps[0].tls.negotiate_timeout == 60
    assert (config.max_connections, config.queue_timeout, config.grace) == (2, 0.5, 1.0)
    assert config.status == Endpoint("127.0.0.1", 8080)
    assert config.at_console == Endpoint("0.0.0.0", 2323)
    assert config.verbose == 2 and config.trace_at
    assert "secret" not in repr(config)


@pytest.mark.parametrize(("argv", "words"), [
    ((), "give at least one --map"),
    (("--map", "9000=h:1", "--map", "9000=g:2"), "two maps listen on 127.0.0.1:9000"),
    (("--map", "9000=h:1", "--max-connections", "13"), "--max-connections: 13 is outside 1-12"),
    (("--map", "9000=h:1", "--negotiate-timeout", "5"), "outside 10-300"),
    (("--map", "9000=h:1", "--clientcert", "c.pem"), "--clientcert and --clientkey together"),
    (("--map", "9000=h:1", "--insecure", "--clientcert", "c", "--clientkey", "k"),
     "--insecure cannot be combined"),
    (("--map", "9000=h:1", "--resolve", "h=127.0.0.1"), "--resolve only works with --emulate"),
    (("--map", "9000=h:1", "--emulate", "--resolve", "h"), "expected NAME=IP"),
    (("--map", "9000=h:1", "--emulate", "--device", "/dev/x"), "exclude each other"),
    (("--map", "9000=h:1", "--apn-user", "u"), "need --apn too"),
    (("--map", "9000=h:1", "--apn", 'in"ternet'), "--apn"),
    (("--map", "9000=h:1", "--apn", "x", "--apn-password", 'p"w'), "double quote"),
    (("--map", "9000=h:1", "--tls-version", "1.3"),
     "--tls-version: '1.3' is not one of 1.0, 1.1, 1.2, all"),
    (("--map", "9000=h:1", "--baud", "fast"), "--baud: want a number or auto, got 'fast'"),
    (("--map", "9000=h:1", "--bogus"), "unrecognized arguments: --bogus"),
    (("--map", "9000=h:1", "--queue-timeout", "-1"), "must be at least 0"),
    (("--map", "9000=h:1", "--queue-max", "-1"), "--queue-max: -1 is outside 0-100000"),
    (("--map", "9000=h:1", "--half-close-timeout", "-2"), "--half-close-timeout: -2.0 must be"),
    (("--map", "9000=h:1", "--idle-reclaim", "-1"), "--idle-reclaim: -1.0 must be at least 0"),
])
def test_flag_mistakes(argv, words):
    with pytest.raises(ConfigError) as info:
        cfg(*argv)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_password_never_in_messages():
    with pytest.raises(ConfigError) as info:
        cfg("--map", "9000=h:1", "--apn", "x", "--apn-password", 'hunter2"')
    assert "hunter2" not in str(info.value)


def test_more_than_six_tls_settings():
    argv = []
    for n in range(7):
        argv += ["--map", f"{9000 + n}=10.0.0.{n}:443"]
    cfg(*argv)  # IP literals share one setting (SNI off)
    file = {"map": [{"listen": 9000 + n, "connect": f"h{n}:443",
                     "negotiate-timeout": 10 + n} for n in range(7)]}
    with pytest.raises(ConfigError, match="only 6 SSL contexts"):
        build_config({}, file)


# -- the TOML file ----------------------------------------------------------------

def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proxy.toml"
    path.write_text(text)
    return path


def test_toml_file(tmp_path):
    path = write(tmp_path, """
apn = "internet"
apn-password = "pw"
max_connections = 4
cacert = "/etc/ca.pem"
tls-version = "1.2"
resolve = { "api.example.com" = "127.0.0.1" }
emulate = true

[[map]]
listen = 9000
connect = "api.example.com:443"

[[map]]
listen = "0.0.0.0:9001"
connect = "mqtt.example.com:8883"
clientcert = "/etc/client.pem"
clientkey = "/etc/client.key"
ciphers = ["0xC02F"]
""")
    config = parse_command_line(["--config", str(path)])
    a, b = config.maps
    assert (str(a.listen), str(a.remote)) == ("127.0.0.1:9000", "api.example.com:443")
    assert (str(b.listen), str(b.remote)) == ("0.0.0.0:9001", "mqtt.example.com:8883")
    assert a.tls.cacert == b.tls.cacert == Path("/etc/ca.pem")
    assert a.tls.clientcert is None and b.tls.clientcert == Path("/etc/client.pem")
    assert b.tls.ciphers == (0xC02F,) and a.tls.ciphers == (0xFFFF,)
    assert config.max_connections == 4 and config.apn == "internet"
    assert config.resolve == (("api.example.com", "127.0.0.1"),)
    assert config.emulate


def test_flags_override_the_file(tmp_path):
    path = write(tmp_path, """
max-connections = 4
apn = "from-file"
tls-version = "1.1"
[[map]]
listen = 9000
connect = "a:443"
tls-version = "1.0"
""")
    config = parse_command_line(["--config", str(path), "--apn", "from-flag"])
    assert config.apn == "from-flag" and config.max_connections == 4
    assert config.maps[0].tls.version == "1.0"  # the map's own beats the file's default
    config = parse_command_line(["--config", str(path), "--tls-version", "1.2"])
    assert config.maps[0].tls.version == "1.2"  # a flag beats both
    config = parse_command_line(["--config", str(path), "--map", "9100=b:443"])
    assert [str(m.remote) for m in config.maps] == ["b:443"]  # --map replaces [[map]]
    assert config.maps[0].tls.version == "1.1"  # and takes the file's TLS defaults


def test_the_flag_beats_the_files_opposite_choice():
    config = build_config({"emulate": True}, {"device": "/dev/ttyUSB2",
                                              "map": [{"listen": 9000, "connect": "a.b:443"}]})
    assert config.emulate and config.device is None and len(config.notices) == 1
    config = build_config({"device": "/dev/ttyUSB2"}, {"emulate": True, "resolve": {},
                                                      "map": [{"listen": 9000,
                                                               "connect": "a.b:443"}]})
    assert not config.emulate and config.device == "/dev/ttyUSB2"
    assert config.notices == ("--device given: the config file's emulate = true is not used",)


@pytest.mark.parametrize(("text", "words"), [
    ("apn = \n", "is not valid TOML"),
    ("colour = 1\n", "unknown key 'colour' at the top level"),
    ("cacerts = \"ca.pem\"\n", "unknown key 'cacerts' at the top level; did you mean 'cacert'?"),
    ("trace_atx = true\n", "did you mean 'trace-at'?"),
    ("[[map]]\nlisten = 9000\nconect = \"h:1\"\n", "in [[map]] #1; did you mean 'connect'?"),
    ("baud = 1.5\n", "baud at the top level must be a number or a string"),
    ("baud = \"fast\"\n[[map]]\nlisten = 9000\nconnect = \"h:1\"\n",
     "--baud: 'fast' is not a speed: give a number or auto"),
    ("rtscts = 1\n", "rtscts at the top level must be true or false"),
    ("apn-password = 5\n", "apn-password at the top level must be a string"),
    ("[[map]]\nlisten = 9000\n", "[[map]] #1 lacks 'connect'"),
    ("[[map]]\nlisten = 9000\nconnect = \"h:1\"\nspeed = 3\n", "unknown key 'speed' in [[map]] #1"),
    ("[[map]]\nlisten = 9000\nconnect = \"h\"\n", "[[map]] #1 connect"),
    ("map = 3\n", "write each mapping as a [[map]] table"),
])
def test_file_mistakes(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        build_config({}, load_toml(path))
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_file_password_type_error_hides_the_value(tmp_path):
    path = write(tmp_path, "apn-password = 12345678\n")
    with pytest.raises(ConfigError) as info:
        load_toml(path)
    assert "12345678" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file .*No such file"):
        load_toml(tmp_path / "nope.toml")


def test_relative_certificate_paths_are_next_to_the_file(tmp_path):
    path = write(tmp_path, """
cacert = "ca.pem"
[[map]]
listen = 9000
connect = "a:443"
clientcert = "certs/client.pem"
clientkey = "/abs/client.key"
""")
    (m,) = parse_command_line(["--config", str(path)]).maps
    assert m.tls.cacert == tmp_path / "ca.pem"
    assert m.tls.clientcert == tmp_path / "certs" / "client.pem"
    assert m.tls.clientkey == Path("/abs/client.key")
    # on the command line they stay relative to the working directory
    (m,) = parse_command_line(["--config", str(path), "--cacert", "here.pem"]).maps
    assert m.tls.cacert == Path("here.pem")


def test_the_example_config_parses():
    example = Path(__file__).resolve().parents[2] / "examples" / "ssl-proxy.toml"
    config = parse_command_line(["--config", str(example)])
    assert [(str(m.listen), str(m.remote)) for m in config.maps] == [
        ("127.0.0.1:9000", "api.example.com:443"),
        ("127.0.0.1:1883", "broker.example.com:8883"),
    ]
    api, broker = config.maps
    assert (api.tls.cacert, api.tls.clientcert, api.tls.negotiate_timeout) == (
        Path("/etc/ssl-proxy/ca.pem"), None, 300)
    assert (broker.tls.cacert, broker.tls.clientcert, broker.tls.clientkey,
            broker.tls.ciphers, broker.tls.negotiate_timeout) == (
        Path("/etc/ssl-proxy/broker-ca.pem"), Path("/etc/ssl-proxy/device.pem"),
        Path("/etc/ssl-proxy/device.key"), (0xC02F, 0xC027), 60)


def test_ignore_local_time_per_map_top_level_and_flag(tmp_path):
    path = write(tmp_path, """
ignore-local-time = true

[[map]]
listen = 9000
connect = "api.example.com:443"

[[map]]
listen = 9001
connect = "mqtt.example.com:8883"
ignore_local_time = false
""")
    a, b = parse_command_line(["--config", str(path)]).maps
    assert a.tls.ignore_local_time and not b.tls.ignore_local_time
    assert profile_for(a.tls, TlsMaterial(b"ca", None, None)).ignore_local_time
    assert not profile_for(b.tls, TlsMaterial(b"ca", None, None)).ignore_local_time
    a, b = parse_command_line(["--config", str(path), "--ignore-local-time"]).maps
    assert a.tls.ignore_local_time and b.tls.ignore_local_time
    assert not cfg("--map", "9000=h:1").maps[0].tls.ignore_local_time
    with pytest.raises(ConfigError, match="ignore-local-time .*true or false"):
        load_toml(write(tmp_path, 'ignore-local-time = "yes"\n'))


def test_idle_release_per_map_and_as_a_flag(tmp_path):
    (m,) = cfg("--map", "9000=h:1").maps
    assert m.idle_release is False
    (m,) = cfg("--map", "9000=h:1", "--idle-release").maps
    assert m.idle_release is True
    path = write(tmp_path, """
[[map]]
listen = 9000
connect = "api.example.com:443"
idle-release = true

[[map]]
listen = 9001
connect = "mqtt.example.com:8883"
""")
    web, mqtt = parse_command_line(["--config", str(path)]).maps
    assert (web.idle_release, mqtt.idle_release) == (True, False)
    with pytest.raises(ConfigError, match="idle-release"):
        load_toml(write(tmp_path, "idle-release = 1\n[[map]]\nlisten = 1\nconnect = 'h:1'\n"))


def test_endings_settings_defaults_flags_and_file(tmp_path):
    config = cfg("--map", "9000=h:1")
    assert (config.queue_max, config.half_close_timeout) == (64, 30.0)
    (m,) = config.maps
    assert (m.max_connections, m.idle_reclaim, m.idle_timeout) == (None, 5.0, 0.0)
    path = write(tmp_path, """
max-connections = 6
queue-max = 8
half-close-timeout = 12
idle-reclaim = 2
idle-timeout = 600

[[map]]
listen = 9000
connect = "api.example.com:443"
max-connections = 3

[[map]]
listen = 9001
connect = "mqtt.example.com:8883"
idle_reclaim = 0
""")
    config = parse_command_line(["--config", str(path)])
    assert (config.max_connections, config.queue_max, config.half_close_timeout) == (6, 8, 12)
    a, b = config.maps
    assert (a.max_connections, a.idle_reclaim, a.idle_timeout) == (3, 2.0, 600.0)
    assert (b.max_connections, b.idle_reclaim, b.idle_timeout) == (None, 0.0, 600.0)
    a, b = parse_command_line(["--config", str(path), "--idle-reclaim", "1",
                               "--queue-max", "0"]).maps
    assert (a.idle_reclaim, b.idle_reclaim, a.max_connections) == (1.0, 1.0, 3)
    with pytest.raises(ConfigError, match=r"\[\[map\]\] #1: max-connections: 13 is outside 1-12"):
        build_config({}, load_toml(write(tmp_path, """
[[map]]
listen = 9000
connect = "h:1"
max-connections = 13
""")))
