"""identidock, from "Using Docker" (Adrian Mouat): a page that shows the identicon dnmonster
draws for a name, cached in redis. Where dnmonster and redis are, and the port, come from the
environment (defaults: the lab's names)."""

import hashlib
import html
import os

import redis
import requests
from flask import Flask, Response, request

app = Flask(__name__)
redis_host, _, redis_port = os.environ.get("REDIS", "redis:6379").partition(":")
cache = redis.StrictRedis(host=redis_host, port=int(redis_port or "6379"), db=0)
dnmonster = os.environ.get("DNMONSTER", "dnmonster:8080")
salt = "UNIQUE_SALT"
default_name = "Joe Bloggs"


@app.route("/", methods=["GET", "POST"])
def mainpage() -> str:
    name = default_name
    if request.method == "POST":
        name = html.escape(request.form["name"], quote=True)
    name_hash = hashlib.sha256((salt + name).encode()).hexdigest()
    return (
        "<html><head><title>Identidock</title></head><body>"
        '<form method="POST">'
        f'Hello <input type="text" name="name" value="{name}">'
        '<input type="submit" value="submit">'
        "</form>"
        f'<p>You look like a: <img src="/monster/{name_hash}"/>'
        "</body></html>"
    )


@app.route("/monster/<name>")
def get_identicon(name: str) -> Response:
    name = html.escape(name, quote=True)
    image = cache.get(name)
    if image is None:
        print("Cache miss", flush=True)
        answer = requests.get(f"http://{dnmonster}/monster/{name}?size=80", timeout=10)
        image = answer.content
        cache.set(name, image)
    return Response(image, mimetype="image/png")


if __name__ == "__main__":
    # Every address of the container: Docker publishes its port.
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "5000")))
