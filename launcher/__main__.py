"""`python -m launcher` (what `make run` calls): the whole platform on one machine. It uses the
embedded default unless the environment names PostgreSQL and RabbitMQ URLs. On a first start
(no community at intake) it loads the T-community scenario through the APIs (`--residents`,
`--months`, … choose its size, `--no-scenario` skips it), waits until evaluation has consumed
every event, prints the contract scorecard, then keeps serving until Ctrl-C.
"""
import argparse
import os
import signal
import sys
import time
from urllib.parse import urlsplit

from scenario.cli import knob_arguments, knobs_from, load
from scenario.client import Client
from scenario.report import scorecards
from shared import clock, config

from .supervisor import Platform, PortTaken, default_probe_ports
from .welcome import banner, create_page_users, embedded_development


def arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m launcher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    knob_arguments(parser)
    parser.add_argument("--no-scenario", action="store_true",
                        help="start empty: load nothing, print no scorecard")
    parser.add_argument("--probe-base", type=int, default=9100,
                        help="workers' probes listen on base+1…, relays' on base+101…")
    parser.add_argument("--replicas", type=int, choices=range(1, 6), default=1,
                        help="processes of each worker and relay (one leads, docs/SCALING.md)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds to wait for evaluation to catch up")
    return parser.parse_args(argv)


def first_start(client: Client) -> bool:
    """No community registered yet: the databases are empty."""
    return not client.get("intake", "/communities")


def show_the_year(platform: Platform, args) -> None:
    """Load the scenario into empty databases, wait for evaluation, print the scorecard."""
    client = Client({s: platform.url(s) for s in platform.ports}, threads=args.threads,
                    clock=platform.env.get(clock.SETTING) == "header")
    if first_start(client):
        print("首次启动：载入T社区情景 / First start: loading the T-community scenario "
              "through the APIs", flush=True)
        load(knobs_from(args), client=client, timeout=args.timeout)
        if embedded_development():
            create_page_users(platform)
    else:
        print("已有数据，跳过载入 / Data present: not loading the scenario again "
              "(make clean for a fresh start)", flush=True)
        client.wait_for_evaluation(args.timeout)
    print("\n" + scorecards(client), flush=True)


def main(argv=None) -> None:
    args = arguments(argv)
    ports = {s: urlsplit(config.service_url(s)).port for s in config.SERVICES}
    env = dict(os.environ)
    if config.development_keys():  # the scenario records its year at the year's times
        env.setdefault(clock.SETTING, "header")
    platform = Platform(ports=ports, log_dir=config.data_dir() / "logs", replicas=args.replicas,
                        probe_ports=default_probe_ports(ports, args.replicas, args.probe_base),
                        env=env)

    def _stop(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        print(f"starting the platform (data in {config.data_dir()}) ...", flush=True)
        platform.start_all()
        platform.wait_ready()
        if not args.no_scenario:
            show_the_year(platform, args)
        print(banner(platform, logins=not args.no_scenario
                     and embedded_development()), flush=True)
        print(f"Logs: {platform.log_dir}", flush=True)
        while True:
            platform.supervise_once()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    except PortTaken as taken:  # nothing was started: say who holds the port, and stop
        print(taken, file=sys.stderr, flush=True)
        raise SystemExit(2)
    finally:
        print("stopping...", flush=True)
        platform.stop_all()


if __name__ == "__main__":
    main()
