"""The baseline for bench/push.py: a Falcon hello-world that echoes a POSTed JSON body, served by
the same gunicorn settings as the gateway, so the difference is what the gateway itself costs."""

import falcon


class Echo:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = req.bounded_stream.read()


app = falcon.App()
app.add_route("/stream-demo/push-event", Echo())
