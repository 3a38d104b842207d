-- wrk: POST /tasks with a small echo task, waiting for its result (Prefer: wait=5).
wrk.method = "POST"
wrk.body = '{"function":"echo","args":{"i":1}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "wait=5"
