#!/usr/bin/env bash
# The two ways to build the local page, measured as a user meets them: install size and time of
# each stack in a fresh venv (no torch), and the cold start (process start to first HTTP 200) and
# resident memory of a minimal page with an audio upload. Usage: benchmarks/ui_stacks.sh [WORKDIR]
set -euo pipefail
work=${1:-$(mktemp -d)}
cd "$work"
cat > app_gradio.py <<'PY'
import os; os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
import gradio as gr
with gr.Blocks() as demo:
    i = gr.Audio(type="filepath"); o = gr.Audio(); gr.Button("Convert").click(lambda a: a, i, o)
demo.launch(server_name="127.0.0.1", server_port=7861)
PY
cat > app_starlette.py <<'PY'
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
import uvicorn
async def index(request): return HTMLResponse("<form><input type=file name=f><audio controls></audio></form>")
async def echo(request):
    form = await request.form(); return Response(await form["f"].read(), media_type="audio/wav")
uvicorn.run(Starlette(routes=[Route("/", index), Route("/convert", echo, methods=["POST"])]),
            host="127.0.0.1", port=7862, log_level="warning")
PY
for stack in gradio starlette; do
  rm -rf "v_$stack"; python3 -m venv "v_$stack"; "v_$stack/bin/pip" install -q --upgrade pip >/dev/null
  base=$(du -sm "v_$stack" | cut -f1); t0=$(date +%s.%N)
  if [ $stack = gradio ]; then "v_$stack/bin/pip" install -q gradio; else "v_$stack/bin/pip" install -q starlette uvicorn python-multipart; fi
  t1=$(date +%s.%N); after=$(du -sm "v_$stack" | cut -f1)
  echo "$stack $("v_$stack/bin/pip" show $stack | grep ^Version): install $(echo "$t1 - $t0" | bc) s, +$((after - base)) MB, $("v_$stack/bin/pip" list 2>/dev/null | tail -n +3 | wc -l) packages"
  port=$([ $stack = gradio ] && echo 7861 || echo 7862)
  for rep in 1 2 3; do
    t0=$(date +%s.%N); "v_$stack/bin/python" app_$stack.py >/dev/null 2>&1 & pid=$!
    until curl -sf -o /dev/null http://127.0.0.1:$port/; do sleep 0.05; done
    t1=$(date +%s.%N); sleep 1
    echo "  cold start $(echo "$t1 - $t0" | bc) s, $(( $(ps -o rss= -p $pid) / 1024 )) MB resident"
    kill $pid; wait $pid 2>/dev/null || true
  done
  [ $stack = gradio ] && echo "  addresses outside this machine in the page: $("v_$stack/bin/python" app_$stack.py >/dev/null 2>&1 & sleep 6; curl -s http://127.0.0.1:$port/ | grep -o 'https://[a-zA-Z0-9./_-]*' | sort -u | wc -l; kill %1)"
done
