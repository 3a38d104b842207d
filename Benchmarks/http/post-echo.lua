-- wrk: POST /tasks with a small echo task.
wrk.method = "POST"
wrk.body = '{"function":"echo","args":{"i":1}}'
wrk.headers["Content-Type"] = "application/json"
