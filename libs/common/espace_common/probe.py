"""`python -m espace_common.probe <service>`: exit 0 when the service answers health() with status "ok".

The Kubernetes exec probe of the service pods, which have no HTTP port. It reads AMQP_URI from the
environment. Replicas compete on one RPC queue, so any replica may answer: this checks the service
through the broker, not the pod that runs the probe.
"""
import argparse
import os
import sys

from .rpc_client import RemoteError, RpcClient, ServiceUnavailable

SERVICES = ("identity", "canteen", "childcare", "billing", "payment")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m espace_common.probe",
                                     description="Ask a service for its health() through RabbitMQ.")
    parser.add_argument("service", help=f"one of {', '.join(SERVICES)}")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")
    # A restart mends neither the database nor the broker: liveness only asks for an answer.
    parser.add_argument("--any-status", action="store_true",
                        help="succeed on any answer, 'degraded' included (for liveness probes)")
    args = parser.parse_args(argv)
    if args.service not in SERVICES:
        parser.error(f"unknown service '{args.service}': expected one of {', '.join(SERVICES)}.")
    if args.timeout <= 0:
        parser.error("--timeout is a positive number of seconds.")
    return args


def main(argv=None):
    args = parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI")
    if not amqp_uri:
        print("probe: AMQP_URI is not set; it names the RabbitMQ broker to ask through.", file=sys.stderr)
        return 2
    try:
        client = RpcClient(amqp_uri, timeout=args.timeout, caller="probe")
    except Exception as exc:  # kombu raises several unrelated types when the broker cannot be reached
        print(f"{args.service}: cannot reach RabbitMQ ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 1
    try:
        report = client.call(args.service, "health")
    except (ServiceUnavailable, RemoteError) as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        client.close()
    status = (report or {}).get("status")
    if status == "ok" or (args.any_status and status):
        print(f"{args.service}: {status}")
        return 0
    print(f"{args.service}: {status}: {report}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
