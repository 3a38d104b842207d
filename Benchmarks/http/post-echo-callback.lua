-- wrk: POST /tasks with a small echo task that carries a completion webhook (callback_url from the CALLBACK_URL
-- environment variable).
wrk.method = "POST"
wrk.body = '{"function":"echo","args":{"i":1},"callback_url":"' .. os.getenv("CALLBACK_URL") .. '"}'
wrk.headers["Content-Type"] = "application/json"
