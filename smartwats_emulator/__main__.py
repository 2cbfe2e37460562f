"""Command line: run the emulator until Ctrl-C (see scripts/emulator)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from .emulator import Emulator


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/emulator", description="Run the SmartWats gateway emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8900, help="port to listen on (0 = any free)")
    parser.add_argument("--token", help="create an account with this access token")
    parser.add_argument(
        "--instance", help="create an instance with this id (for --token's account)"
    )
    parser.add_argument("--phone", default="966500000001", help="the pre-created instance's number")
    parser.add_argument(
        "--linked", action="store_true", help="the pre-created instance starts linked"
    )
    parser.add_argument(
        "--auto-link",
        type=float,
        metavar="SECONDS",
        help="an instance waiting for a scan links itself after this delay (demos)",
    )
    parser.add_argument(
        "--qr-rotate", type=float, default=20.0, metavar="SECONDS", help="QR rotation period"
    )
    parser.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="accept http:// and private or loopback webhook URLs",
    )
    parser.add_argument(
        "--seed",
        type=int,
        metavar="N",
        help="make up the same ids and QR payloads at each run (given the same calls)",
    )
    return parser.parse_args(argv)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def run(args: argparse.Namespace) -> None:
    """Start the emulator, print where it is, and serve until interrupted."""
    emu = Emulator(
        qr_rotate_seconds=args.qr_rotate,
        auto_link_after=args.auto_link,
        allow_private_webhooks=args.allow_private_webhooks,
        seed=args.seed,
    )
    await emu.start(args.host, args.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    # Explicit handlers: a shell starts background jobs with SIGINT ignored, and asyncio's own
    # Ctrl-C handling is then off; these stop cleanly either way.
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
            loop.add_signal_handler(signum, stop.set)
    try:
        if args.token or args.instance:
            token = emu.state.add_account(args.token)
            instance_id = emu.state.add_instance(
                token, linked=args.linked, phone=args.phone, instance_id=args.instance
            )
            _say(f"access token: {token}")
            _say(f"instance id:  {instance_id} ({emu.state.instance(instance_id).state.value})")
        _say(f"API:          {emu.api_url}")
        _say(f"phone page:   {emu.url}")
        _say(f"control API:  {emu.url}_emulator/")
        _say("Ctrl-C stops.")
        await stop.wait()
    finally:
        await emu.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
