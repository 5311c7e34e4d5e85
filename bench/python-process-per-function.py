# The course's model for a Python function: one CPython process running the course
# runtime's loop (GET the input key, json.loads, handler, SET the output, sleep).
# bench/python.ts starts a few and reads their RSS. Needs Debian's python3-redis.
# Run: python3 bench/python-process-per-function.py HOST PORT INPUT_KEY OUTPUT_KEY
import datetime
import json
import sys
import time

import redis


class Context:
    pass


def handler(input, context):
    return input


def main():
    host, port, input_key, output_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    r = redis.Redis(host=host, port=port)
    context = Context()
    context.host, context.port, context.input_key, context.output_key = host, port, input_key, output_key
    context.function_getmtime = time.strftime('%Y-%m-%d %H:%M:%S')
    context.last_execution = None
    context.env = {}
    while True:
        raw = r.get(input_key)
        if raw:
            result = handler(json.loads(raw), context)
            if result:
                r.set(output_key, json.dumps(result))
        context.last_execution = datetime.datetime.now()
        time.sleep(1)


main()
