"""deploy/: every file parsed and its essentials asserted; the real checkers where installed.

No container engine runs here, so the Dockerfile and compose file are linted
by reading them. ``systemd-analyze``, ``caddy`` and ``nginx`` are used when
present (Debian packages: systemd, caddy, nginx-light) and skipped, saying why,
when not.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hotline.ops.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
INSTANCE = "/var/lib/hotline/instance"


def _unit() -> dict[str, list[str]]:
    """systemd's own key=value format: repeated keys accumulate."""
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / "hotline.service").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_systemd_unit_is_sandboxed() -> None:
    u = _unit()
    one = {k: v[-1] for k, v in u.items()}
    assert one["User"] == "hotline" and one["Group"] == "hotline"
    for key, value in {"ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes",
                       "ProtectHome": "yes", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes",
                       "ProtectKernelTunables": "yes", "ProtectControlGroups": "yes",
                       "LockPersonality": "yes", "UMask": "0077"}.items():
        assert one.get(key) == value, key
    assert u["ReadWritePaths"] == [INSTANCE]  # the instance folder and nothing else
    assert one["CapabilityBoundingSet"] == ""
    assert re.fullmatch(r"\d+[KMG]", one["MemoryMax"]) and int(one["TasksMax"]) > 0
    assert "--host 127.0.0.1" in one["ExecStart"]  # only the proxy and Tor reach it
    assert "doctor" in one["ExecStartPre"]


def _verifiable_unit(tmp_path: Path) -> Path:
    """The unit with the not-yet-installed binary swapped for one that exists."""
    unit = tmp_path / "hotline.service"
    text = (DEPLOY / "systemd" / "hotline.service").read_text()
    unit.write_text(text.replace("/opt/hotline/venv/bin/hotline", "/bin/true"))
    return unit


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed (Debian package: systemd)")
def test_systemd_analyze_verifies_the_unit_and_rates_it_safe(tmp_path: Path) -> None:
    unit = _verifiable_unit(tmp_path)
    proc = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
    security = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(unit)],
                              capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for \S+: ([\d.]+)", security.stdout)
    if security.returncode != 0 or found is None:
        pytest.skip("this systemd-analyze cannot rate units offline")
    assert float(found.group(1)) <= 2.0, security.stdout[-2000:]


CADDYFILES = ["Caddyfile", "Caddyfile.frontends"]
NGINX_SITES = ["hotline.conf", "hotline-frontends.conf"]


def _caddy_code(name: str) -> str:
    text = (DEPLOY / "caddy" / name).read_text()
    return "\n".join(ln.split("#", 1)[0] for ln in text.splitlines())


@pytest.mark.parametrize("name", CADDYFILES)
def test_caddy_config_keeps_no_log_and_no_client_address(name: str) -> None:
    code = _caddy_code(name)
    assert not re.search(r"^\s*log\b", code, re.M)
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        assert f"header_up -{header}" in code
    assert "header_up Host {host}" in code and "X-Forwarded-Proto {scheme}" in code
    assert re.search(r"@internal path /metrics /readyz\s+respond @internal 404", code)
    assert code.count("reverse_proxy ") == 1


def test_single_machine_caddy_proxies_to_loopback() -> None:
    assert "reverse_proxy 127.0.0.1:8080" in _caddy_code("Caddyfile")


def test_caddy_spreads_over_front_ends_checked_on_their_ops_listener() -> None:
    """Several upstreams; active health on /readyz at the ops port with the metrics token."""
    code = _caddy_code("Caddyfile.frontends")
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", code)
    assert upstreams is not None and len(upstreams.group(1).split()) >= 2
    assert "health_uri /readyz" in code and "health_port 9180" in code
    assert 'Authorization "Bearer {env.HOTLINE_METRICS_TOKEN}"' in code
    assert "lb_try_duration" in code
    assert "lb_retry_match" not in code  # only failed connections are retried, never a POST


@pytest.mark.parametrize("name", CADDYFILES)
@pytest.mark.skipif(shutil.which("caddy") is None,
                    reason="caddy not installed (Debian package: caddy)")
def test_caddy_validates_its_config(tmp_path: Path, name: str) -> None:
    proc = subprocess.run(["caddy", "validate", "--config", str(DEPLOY / "caddy" / name),
                           "--adapter", "caddyfile"], capture_output=True, text=True, timeout=60,
                          env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
                               "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Valid configuration" in proc.stdout + proc.stderr


@pytest.mark.parametrize("name", NGINX_SITES)
def test_nginx_config_keeps_no_log_and_no_client_address(name: str) -> None:
    text = (DEPLOY / "nginx" / name).read_text()
    servers = text.split("server {")[1:]
    assert len(servers) == 2 and all("access_log off;" in s for s in servers)
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        assert f'proxy_set_header {header} "";' in text
    assert "proxy_set_header Host $host;" in text
    assert "location = /metrics { return 404; }" in text
    assert "server_tokens off;" in text


def test_nginx_spreads_over_front_ends_and_never_resends_a_request() -> None:
    text = (DEPLOY / "nginx" / "hotline-frontends.conf").read_text()
    upstream = re.search(r"upstream hotline_frontends \{([^}]*)\}", text)
    assert upstream is not None and len(re.findall(r"^\s*server ", upstream.group(1), re.M)) >= 2
    assert "proxy_pass http://hotline_frontends;" in text
    # A POSTed tip a front end received is never sent to a second one.
    assert "proxy_next_upstream error timeout;" in text and "non_idempotent" not in text


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx not installed (Debian package: nginx-light)")
@pytest.mark.parametrize("name", NGINX_SITES)
def test_nginx_accepts_the_config(tmp_path: Path, name: str) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=hotline.example.org", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    site = (DEPLOY / "nginx" / name).read_text()
    site = site.replace("/etc/letsencrypt/live/hotline.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/hotline.example.org/privkey.pem", str(key))
    site = site.replace("/var/log/nginx/", f"{tmp_path}/")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  client_body_temp_path {tmp_path}/body;\n  include {tmp_path}/site.conf;\n}}\n")
    proc = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_tor_onion_service_points_at_the_local_service() -> None:
    lines = [ln.split() for ln in (DEPLOY / "tor" / "torrc").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    conf = {ln[0]: ln[1:] for ln in lines}
    assert conf["HiddenServiceVersion"] == ["3"]
    assert conf["HiddenServicePort"] == ["80", "127.0.0.1:8080"]
    assert conf["HiddenServiceDir"][0].startswith("/var/lib/tor/")


@pytest.mark.skipif(shutil.which("tor") is None and not Path("/usr/sbin/tor").exists(),
                    reason="tor is not installed (Debian: apt-get install tor; tools/install-test-deps does)")
def test_tor_accepts_the_onion_service_config(tmp_path: Path) -> None:
    """Tor's own checker, on our snippet with the paths moved into a scratch folder."""
    tor = shutil.which("tor") or "/usr/sbin/tor"
    service = tmp_path / "hs"
    service.mkdir(mode=0o700)
    text = (DEPLOY / "tor" / "torrc").read_text().replace("/var/lib/tor/hotline/", f"{service}/")
    conf = tmp_path / "torrc"
    conf.write_text(text + f"\nDataDirectory {tmp_path / 'data'}\nSocksPort 0\n")
    ok = subprocess.run([tor, "--verify-config", "-f", str(conf)], capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and "Configuration was valid" in ok.stdout, ok.stdout + ok.stderr
    conf.write_text(text.replace("127.0.0.1:8080", "nowhere:port"))  # and it can fail
    bad = subprocess.run([tor, "--verify-config", "-f", str(conf)], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0


SECRETISH = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSPHRASE|AUTH)", re.I)


def _dockerfile() -> list[tuple[str, str]]:
    text = (DEPLOY / "container" / "Dockerfile").read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_runs_unprivileged_with_nothing_secret_baked_in() -> None:
    instr = _dockerfile()
    final = instr[max(i for i, (w, _) in enumerate(instr) if w == "FROM"):]
    users = [arg for w, arg in final if w == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("VOLUME", '["/data"]') in final
    for word, arg in instr:
        if word in ("ENV", "ARG", "LABEL"):
            for name in re.findall(r"([A-Z_][A-Z0-9_]*)=", arg):
                assert not SECRETISH.search(name), f"{word} {name} bakes a secret in"
        if word in ("COPY", "ADD"):
            assert not re.search(r"secrets|\.key\b|hotline\.db|\.env\b", arg), arg
    cmd = json.loads(dict(final)["CMD"])
    assert cmd[:2] == ["serve", "/data/instance"]


def _compose() -> dict[str, object]:
    """The YAML subset the compose file uses: nested maps, lists of scalars, scalars."""
    root: dict[str, object] = {}
    stack: list[tuple[int, object]] = [(-1, root)]
    lines = [ln.split(" #", 1)[0].rstrip() for ln in
             (DEPLOY / "container" / "compose.yaml").read_text().splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    for i, line in enumerate(lines):
        indent = len(line) - len(line.lstrip())
        while stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1]
        item = line.strip()
        if item.startswith("- "):
            assert isinstance(parent, list), line
            parent.append(item[2:].strip().strip('"'))
            continue
        key, _, value = item.partition(":")
        value = value.strip()
        assert isinstance(parent, dict), line
        if value:
            parent[key] = value.strip('"')
        else:
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            child: object = [] if nxt.strip().startswith("- ") else {}
            parent[key] = child
            stack.append((indent, child))
    return root


def test_compose_file_is_read_only_unprivileged_and_keeps_secrets_out() -> None:
    c = _compose()
    svc = c["services"]["hotline"]  # type: ignore[index]
    assert svc["read_only"] == "true"
    assert svc["user"].split(":")[0] not in ("root", "0")
    assert "ALL" in svc["cap_drop"] and "no-new-privileges:true" in svc["security_opt"]
    assert any(v.startswith("hotline-data:/data") for v in svc["volumes"])
    assert all(p.startswith("127.0.0.1:") for p in svc["ports"])
    for name, value in svc["environment"].items():
        if SECRETISH.search(name):
            assert name.endswith("_FILE") and value.startswith("/run/secrets/"), name
    assert "twilio_auth_token" in c["secrets"]  # type: ignore[operator]


def test_grafana_dashboard_only_uses_metrics_that_exist() -> None:
    dash = json.loads((DEPLOY / "grafana" / "hotline-dashboard.json").read_text())
    names = {m.name for m in Metrics().registry.collect()}
    exported = set()
    for n in names:
        exported |= {n, f"{n}_total", f"{n}_bucket", f"{n}_count", f"{n}_sum"}
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        for metric in re.findall(r"\bhotline_[a-z_]+", expr):
            assert metric in exported, metric
        assert "tip" not in re.findall(r"by \(([^)]*)\)", expr)


def test_deploy_doc_says_where_each_webhook_goes() -> None:
    text = DOCS.read_text()
    for needle in ("/twilio/sms", "/twilio/voice", "/twilio/page/", "HOTLINE_PUBLIC_URL",
                   "hotline backup-secrets", "hotline restore", "hotline doctor",
                   "hotline recover", "systemctl enable --now hotline"):
        assert needle in text, needle


def _stages() -> dict[str, list[tuple[str, str]]]:
    """The Dockerfile's instructions by stage name (the last, unnamed one is 'final')."""
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for word, arg in _dockerfile():
        if word == "FROM":
            parts = arg.split()
            current = stages.setdefault(parts[2] if len(parts) == 3 else "final", [])
        current.append((word, arg))
    return stages


def test_image_is_built_from_a_wheel_that_carries_libsodium() -> None:
    """npm ci (tarballs checked against the lock), a wheel built with node_modules there
    (setup.py copies the pinned files), a venv from that wheel only; the final image
    takes that venv and nothing of the source tree. (No container engine here: read.)"""
    stages = _stages()
    assert list(stages) == ["npm", "build", "final"]
    npm = stages["npm"]
    assert ("COPY", "package.json package-lock.json ./") in npm
    assert ("RUN", "npm ci --ignore-scripts --no-audit --no-fund") in npm

    build = stages["build"]
    copied = " ".join(arg for word, arg in build if word == "COPY")
    for needed in ("pyproject.toml", "setup.py", "README.md", "package-lock.json",
                   "./crypto", "./triage_rules", "./hotline"):
        assert needed in copied, needed
    assert ("COPY", "--from=npm /src/node_modules ./node_modules") in build
    runs = [arg for word, arg in build if word == "RUN"]
    assert runs[0] == "pip wheel --no-deps -w /wheels ."
    assert runs[1].startswith("python -m venv /opt/hotline && /opt/hotline/bin/pip install "
                              "/wheels/hotline-*.whl ")
    assert "s.origin == 'installed package'" in runs[1]  # the image build fails without it
    assert [arg for word, arg in build if word == "WORKDIR"][-1] == "/"  # checked outside /src
    assert not any("pip install ." in r or "pip install -e" in r for r in runs)

    final = stages["final"]
    assert [arg for word, arg in final if word == "COPY"] == ["--from=build /opt/hotline /opt/hotline"]
    assert not any("npm" in arg or "node_modules" in arg for _, arg in final)


def test_every_postgresql_file_is_explained_where_operators_read() -> None:
    """Each database file is in deploy/README.md's table and in docs/deploy.md's recipe."""
    readme = (DEPLOY / "README.md").read_text()
    doc = DOCS.read_text()
    files = sorted((DEPLOY / "postgresql").iterdir()) + sorted((DEPLOY / "pgbackrest").iterdir())
    assert len(files) == 8
    for path in files:
        assert path.name in readme, path.name
        assert f"deploy/{path.parent.name}/{path.name}" in doc
    for needle in ("pg_basebackup", "-R", "target_session_attrs=read-write", "pg_promote",
                   "Patroni", "RPO", "RTO", "crypto-shredding", "hotline backup-secrets",
                   "--replace"):
        assert needle in doc, needle

