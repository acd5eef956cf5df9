"""What `make run` gives a developer trying the platform: page users for the scenario's
people (on the embedded default only) and the banner that says where everything listens and
how to get a token for each role."""
import subprocess
import sys

from scenario.plan import BUYER
from shared import config

from .supervisor import ROOT, Platform

DEV_PASSWORD = "dev-password-1"  # development only: never created in production mode
# the scenario's people as page users: (service, login id, name, role, scope options)
PAGE_USERS = (
    ("intake", "clerk-c1", "c1 受理员", "intake_clerk", ["--community", "c1"]),
    ("casework", "admin-a1", "a1 机构管理员", "agency_admin", ["--agency", "a1"]),
    ("casework", "a1-c1-w1", "社工1", "social_worker", ["--agency", "a1"]),  # its roster id
    ("evaluation", "auditor", "街道办审计员", "buyer_auditor", ["--buyer", BUYER]),
    ("evaluation", "expert-k-a1", "第三方评估专家", "evaluator", ["--contract", "k-a1"]),
)


def embedded_development() -> bool:
    """The embedded default (SQLite, filesystem broker) outside production mode."""
    return (not config.is_production() and config.broker_url().startswith("filesystem")
            and all(config.database_url(s).startswith("sqlite") for s in config.SERVICES))


def create_page_users(platform: Platform) -> None:
    for service, user_id, name, role, scope in PAGE_USERS:
        subprocess.run([sys.executable, "-m", "flask", "--app", f"services.{service}",
                        "create-user", "--id", user_id, "--name", name, "--role", role,
                        "--password", DEV_PASSWORD, *scope], env=platform.env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)


def page_logins(platform: Platform) -> list[str]:
    return ["", f"Pages (development users, password {DEV_PASSWORD}):"] + [
        f"  {role:<14} {platform.url(service)}/ui/login   user {user_id}"
        for service, user_id, _, role, _ in PAGE_USERS]


def banner(platform: Platform, logins: bool = False) -> str:
    lines = ["", "社区社会工作服务平台已启动 / The platform is running:"]
    for service in platform.ports:
        url = platform.url(service)
        lines.append(f"  {service:<11} {url}   (API docs: {url}/openapi.json; health of "
                     f"worker :{platform.probe_ports[service + '-worker']}, relay "
                     f":{platform.probe_ports[service + '-relay']})")
    token = ".venv/bin/flask --app services.{} token --role"
    lines += ["", "Tokens for each role (development key), for the scenario's people:",
              f"  clerk of c1:          {token.format('intake')} intake_clerk --community c1",
              f"  agency a1's admin:    {token.format('casework')} agency_admin --agency a1",
              f"  a social worker:      {token.format('casework')} social_worker --agency a1"
              " --sub a1-c1-w1",
              f"  the street office:    {token.format('evaluation')} buyer_auditor"
              f" --buyer {BUYER}",
              f"  the evaluator of k-a1: {token.format('evaluation')} evaluator --contract k-a1",
              f"  ops:                  {token.format('evaluation')} ops_admin",
              f"The scorecard: curl -H \"Authorization: Bearer $TOKEN\" "
              f"{platform.url('evaluation')}/contracts/k-a1/scorecard",
              "Pages: <service URL>/ui/login; users: .venv/bin/flask --app services.<name> "
              "create-user (docs/OPERATIONS.md)",
              f"Residents' own pages (phone number and a texted code; in development the code "
              f"is in intake's log): {platform.url('intake')}/r/ (docs/RESIDENTS.md)",
              "Press Ctrl-C to stop. 按 Ctrl-C 停止。"]
    if logins:
        lines[-1:-1] = page_logins(platform)
    return "\n".join(lines)
