#!/usr/bin/env bash
# The shared stack on one host: Chroma's server, several Streamlit app processes and Debian's nginx
# in front with sticky sessions, all behind one address (default http://127.0.0.1:8501).
#
#   scripts/serve.sh          start everything, stay in the foreground; Ctrl+C stops it all
#   scripts/serve.sh stop     stop a stack started elsewhere (from another terminal)
#   scripts/serve.sh status   health of each part (exit 0 when every part answers)
#
# Settings are the CHANGEGUIDE_* variables (docs/deploy.md): CHANGEGUIDE_APP__ADDRESS/PORT is where
# nginx listens, CHANGEGUIDE_SERVE__PROCESSES how many app processes, CHANGEGUIDE_INDEX__DIR,
# CHANGEGUIDE_APP__DATA_DIR and CHANGEGUIDE_SERVE__CHROMA_DIR/RUN_DIR the data folders. The parts
# behind nginx listen on 127.0.0.1 only. A part that dies is restarted (its log says so).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

[ -x .venv/bin/python ] || bash scripts/bootstrap.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False

START_TIMEOUT=${SERVE_START_TIMEOUT:-120}  # seconds for one part to answer its health check
RESTART_DELAY=${SERVE_RESTART_DELAY:-2}    # seconds between a part dying and its restart
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

settings=$(.venv/bin/python -m rag.app.launch --serve)
eval "$settings"
# The cores shared out between the app processes: torch's default of a thread per core in every
# process makes them spin against each other (5-10x slower answers under load, benchmarks/README.md).
THREADS=${SERVE_THREADS:-$(( $(nproc) / PROCESSES > 0 ? $(nproc) / PROCESSES : 1 ))}
LOGS=$RUN_DIR/logs
PIDS=$RUN_DIR/pids
mkdir -p "$LOGS" "$PIDS"

say() { echo "==> $*" | tee -a "$LOGS/serve.log"; }

# -- health -----------------------------------------------------------------------------------------

probe() {  # probe URL: 0 when it answers 200
  curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null
}

chroma_url() { echo "${CHROMA_URL:-http://127.0.0.1:$CHROMA_PORT}"; }
app_port() { echo $((APP_PORT + $1 - 1)); }
proxy_url() {
  local host=$ADDRESS
  case $host in 0.0.0.0 | "::") host=127.0.0.1 ;; esac
  echo "http://$host:$PORT"
}

part_url() {  # the health check of a part
  case $1 in
    chroma) echo "$(chroma_url)/api/v2/heartbeat" ;;
    app-*) echo "http://127.0.0.1:$(app_port "${1#app-}")/_stcore/health" ;;
    nginx) echo "$(proxy_url)/_stcore/health" ;;
  esac
}

parts() {
  [ -n "$CHROMA_URL" ] || echo chroma
  for i in $(seq 1 "$PROCESSES"); do echo "app-$i"; done
  echo nginx
}

alive() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

status() {
  local bad=0 part state
  for part in $(parts); do
    if ! alive "$part"; then
      state="not running"
      bad=1
    elif probe "$(part_url "$part")"; then
      state="ok (pid $(cat "$PIDS/$part.pid"), $(part_url "$part"))"
    else
      state="not answering $(part_url "$part")"
      bad=1
    fi
    printf '%-8s %s\n' "$part" "$state"
  done
  [ -z "$CHROMA_URL" ] || { probe "$(part_url chroma)" && echo "chroma   ok (external, $CHROMA_URL)" || { echo "chroma   external $CHROMA_URL not answering"; bad=1; }; }
  return $bad
}

# -- the parts --------------------------------------------------------------------------------------

nginx_config() {  # writes $RUN_DIR/nginx/nginx.conf for the app processes
  local dir=$RUN_DIR/nginx servers="" user="" i
  mkdir -p "$dir/temp"
  for i in $(seq 1 "$PROCESSES"); do
    servers+="        server 127.0.0.1:$(app_port "$i") max_fails=1 fail_timeout=5s;"$'\n'
  done
  # Master as root: the workers drop to an unprivileged user (they only proxy; no files to read).
  [ "$(id -u)" -ne 0 ] || user="user nobody $(id -gn nobody 2>/dev/null || echo nogroup);"
  sed -e "s|@USER@|$user|" -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@LISTEN@|$(listen_address)|" \
    -e "s|@MAX_UPLOAD_MB@|$MAX_UPLOAD_MB|" scripts/serve/nginx.conf.in |
    awk -v servers="$servers" '{ if ($0 ~ /@SERVERS@/) printf "%s", servers; else print }' >"$dir/nginx.conf"
}

listen_address() {
  case $ADDRESS in *:*) echo "[$ADDRESS]:$PORT" ;; *) echo "$ADDRESS:$PORT" ;; esac
}

secret_file() {  # one Streamlit cookie secret for every app process (its XSRF cookie must verify in each)
  local file=$RUN_DIR/streamlit-cookie-secret
  if [ ! -s "$file" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_hex(32))' >"$file")
  fi
  echo "$file"
}

launch() {  # launch PART: start it in its own session, its output appended to its log
  local part=$1 log=$LOGS/$1.log
  echo "--- $(date -u +%FT%TZ) starting $part" >>"$log"
  case $part in
    chroma)
      mkdir -p "$CHROMA_DIR"
      setsid .venv/bin/chroma run --path "$CHROMA_DIR" --host 127.0.0.1 --port "$CHROMA_PORT" \
        >>"$log" 2>&1 </dev/null &
      ;;
    app-*)
      local secrets=()
      if [ -n "$SECRETS_FILE" ]; then
        secrets=(--secrets.files "$HOME/.streamlit/secrets.toml" --secrets.files "$REPO/.streamlit/secrets.toml"
                 --secrets.files "$SECRETS_FILE")
      fi
      STREAMLIT_SERVER_COOKIE_SECRET=$(cat "$(secret_file)") \
      CHANGEGUIDE_INDEX__CHROMA_URL=$(chroma_url) \
      OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS \
        setsid .venv/bin/python -m streamlit run app.py \
        --server.address 127.0.0.1 \
        --server.port "$(app_port "${part#app-}")" \
        --server.headless true \
        --server.maxUploadSize "$MAX_UPLOAD_MB" \
        --browser.gatherUsageStats false \
        "${secrets[@]}" >>"$log" 2>&1 </dev/null &
      ;;
    nginx)
      nginx_config
      setsid "$NGINX" -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -e "$LOGS/nginx-error.log" \
        -g "daemon off;" >>"$log" 2>&1 </dev/null &
      ;;
  esac
  echo $! >"$PIDS/$part.pid"
}

wait_healthy() {  # wait_healthy PART: 0 once it answers, 1 if it dies or START_TIMEOUT passes
  local part=$1 deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    alive "$part" || return 1
    probe "$(part_url "$part")" && return 0
    sleep 0.5
  done
  return 1
}

signal_part() {  # signal_part SIGNAL PART: to the part's process group (its own session)
  local pid
  [ -f "$PIDS/$2.pid" ] || return 0
  pid=$(cat "$PIDS/$2.pid")
  kill "-$1" -- "-$pid" 2>/dev/null || kill "-$1" "$pid" 2>/dev/null || true
}

stop_all() {  # TERM every part (the proxy first, so nobody reaches a half-stopped stack), KILL after 10 s
  local part i left
  for part in $(parts | tac); do signal_part TERM "$part"; done
  for i in $(seq 1 40); do
    left=0
    for part in $(parts); do alive "$part" && left=1; done
    [ "$left" = 1 ] || break
    sleep 0.25
  done
  for part in $(parts); do
    alive "$part" && signal_part KILL "$part"
    rm -f "$PIDS/$part.pid"
  done
}

fail_start() {
  say "$1 did not start; the end of $LOGS/$1.log:"
  tail -n 30 "$LOGS/$1.log" >&2 || true
  stop_all
  rm -f "$RUN_DIR/serve.pid"
  exit 1
}

# -- commands ---------------------------------------------------------------------------------------

case ${1:-start} in
  status)
    status
    exit $?
    ;;
  stop)
    if [ -f "$RUN_DIR/serve.pid" ] && kill -0 "$(cat "$RUN_DIR/serve.pid")" 2>/dev/null; then
      pid=$(cat "$RUN_DIR/serve.pid")
      kill -TERM "$pid"
      for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
    stop_all  # whatever a killed supervisor left behind
    rm -f "$RUN_DIR/serve.pid"
    echo "==> stopped"
    exit 0
    ;;
  start) ;;
  *)
    echo "usage: scripts/serve.sh [start|stop|status]" >&2
    exit 2
    ;;
esac

if [ -f "$RUN_DIR/serve.pid" ] && kill -0 "$(cat "$RUN_DIR/serve.pid")" 2>/dev/null; then
  echo "error: a stack already runs from $RUN_DIR (pid $(cat "$RUN_DIR/serve.pid")); stop it with scripts/serve.sh stop" >&2
  exit 2
fi
.venv/bin/python -c 'import sys; from rag.config import IndexSettings; sys.exit("chroma_url" not in IndexSettings.model_fields)' || {
  echo "error: this version of the engine has no CHANGEGUIDE_INDEX__CHROMA_URL (Chroma as a server), which the shared stack needs" >&2
  exit 2
}
bash scripts/ensure_nginx.sh
[ -x "$NGINX" ] || { echo "error: nginx is missing: sudo apt-get install nginx" >&2; exit 2; }
bash scripts/ensure_ocr.sh || true
echo $$ >"$RUN_DIR/serve.pid"
trap 'say "stopping the stack"; stop_all; rm -f "$RUN_DIR/serve.pid"; exit 130' INT TERM

say "starting the stack: $(parts | tr '\n' ' ')(logs in $LOGS)"
if [ -z "$CHROMA_URL" ]; then
  launch chroma
  wait_healthy chroma || fail_start chroma
fi
export CHANGEGUIDE_INDEX__CHROMA_URL=$(chroma_url)
if [ "$INDEX_READY" != 1 ]; then
  say "building the index of the starter library (corpus/) in $INDEX_DIR; this happens once"
  .venv/bin/python -m rag ingest corpus --index "$INDEX_DIR" 2>&1 | tee -a "$LOGS/ingest.log" || [ "${PIPESTATUS[0]}" -eq 1 ]
fi
for i in $(seq 1 "$PROCESSES"); do launch "app-$i"; done
for i in $(seq 1 "$PROCESSES"); do wait_healthy "app-$i" || fail_start "app-$i"; done
launch nginx
wait_healthy nginx || fail_start nginx
say "Change Guide: open $OPEN_URL ($PROCESSES app processes behind nginx; Ctrl+C or scripts/serve.sh stop stops it)"

# Supervise: restart a part that died (kill -9, out of memory) until asked to stop.
stopping=0
trap 'stopping=1' INT TERM
while [ "$stopping" = 0 ]; do
  for part in $(parts); do
    if [ "$stopping" = 0 ] && ! alive "$part"; then
      say "$part exited; restarting it in ${RESTART_DELAY}s"
      sleep "$RESTART_DELAY"
      [ "$stopping" = 1 ] || launch "$part"
    fi
  done
  sleep 1 &
  wait $! || true
done
say "stopping the stack"
stop_all
rm -f "$RUN_DIR/serve.pid"
say "stopped"
