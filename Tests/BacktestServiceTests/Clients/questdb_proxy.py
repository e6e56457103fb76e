"""A TCP relay in front of a real QuestDB, for the store's fault tests.

Usage: questdb_proxy.py STATE_DIR

It listens on two free 127.0.0.1 ports (HTTP and PG wire) and writes them to
STATE_DIR/ports.json as {"http": N, "pg": N}. Each new connection is relayed to the
QuestDB named in STATE_DIR/target.json ({"http": N, "pg": N}); while that file is
missing, connections are closed at once (as a stopped QuestDB refuses them). So a test
can stop QuestDB, start it again on other ports and point the relay at it, while
backtestd keeps one address, as it would in production.

STATE_DIR/drop-answers holds a number: that many answers to `POST /write` requests are
relayed to QuestDB, QuestDB's answer is read, and the client's connection is closed
without it (the commit happened; the client cannot know). The count of dropped answers
is written to STATE_DIR/dropped.
Existing connections are cut when target.json changes (a restarted QuestDB drops them).
"""
import asyncio
import json
import os
import sys

state = sys.argv[1]
generation = 0


def target():
    try:
        with open(os.path.join(state, "target.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def take_drop():
    path = os.path.join(state, "drop-answers")
    try:
        with open(path) as f:
            n = int(f.read().strip() or "0")
    except (OSError, ValueError):
        return False
    if n <= 0:
        return False
    with open(path, "w") as f:
        f.write(str(n - 1))
    dropped_path = os.path.join(state, "dropped")
    try:
        with open(dropped_path) as f:
            dropped = int(f.read().strip() or "0")
    except (OSError, ValueError):
        dropped = 0
    with open(dropped_path + ".tmp", "w") as f:
        f.write(str(dropped + 1))
    os.rename(dropped_path + ".tmp", dropped_path)
    return True


async def pipe(reader, writer, on_data=None):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if on_data is not None and not on_data(data):
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


def handler(kind):
    async def handle(client_reader, client_writer):
        t = target()
        if t is None:
            client_writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", t[kind])
        except OSError:
            client_writer.close()
            return
        my_generation = generation
        writes = {"pending": 0}

        def to_upstream(data):
            if kind == "http":
                writes["pending"] += data.count(b"POST /write")
            return True

        def to_client(data):
            # An answer to a /write while a drop is armed: swallowed, connection cut.
            if kind == "http" and writes["pending"] > 0 and data.startswith(b"HTTP/1.1 2"):
                writes["pending"] -= 1
                if take_drop():
                    return False
            return True

        tasks = [asyncio.ensure_future(pipe(client_reader, up_writer, to_upstream)),
                 asyncio.ensure_future(pipe(up_reader, client_writer, to_client))]
        while not all(task.done() for task in tasks):
            done, _ = await asyncio.wait(tasks, timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
            if done or generation != my_generation:
                for task in tasks:
                    task.cancel()
                for w in (up_writer, client_writer):
                    try:
                        w.close()
                    except Exception:
                        pass
                break
    return handle


async def watch_target():
    global generation
    last = None
    while True:
        current = target()
        if current != last:
            generation += 1
            last = current
        await asyncio.sleep(0.1)


async def main():
    http = await asyncio.start_server(handler("http"), "127.0.0.1", 0)
    pg = await asyncio.start_server(handler("pg"), "127.0.0.1", 0)
    ports = {"http": http.sockets[0].getsockname()[1], "pg": pg.sockets[0].getsockname()[1]}
    with open(os.path.join(state, "ports.json.tmp"), "w") as f:
        json.dump(ports, f)
    os.rename(os.path.join(state, "ports.json.tmp"), os.path.join(state, "ports.json"))
    await watch_target()


asyncio.run(main())
