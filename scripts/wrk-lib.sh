# Sourced by bench-origin.sh and bench-serve.sh: wrk and nginx (installed when missing, as
# root), and reading wrk's output. Sets NGINX.
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "bench: install ${need[*]} (apt-get install -y ${need[*]})" >&2; exit 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# The 99th percentile latency of a wrk --latency report, in milliseconds.
p99_ms() { awk '$1 == "99%" { v=$2; if (v ~ /us$/) { sub(/us/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms/,"",v) } else if (v ~ /s$/) { sub(/s/,"",v); v*=1000 }; print v }' "$1"; }
# The median of numbers on stdin, one per line.
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# wrk with the run's THREADS, CONNECTIONS and DURATION, and latency figures; extra
# arguments (a Lua script, another -d) come before the URL.
run_wrk() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@"; }

# Starts nginx under $work/nginx on a free loopback port with HTTP_LINES at the http level
# and SERVER_LINES in its one server block, and waits until PROBE_PATH answers. Sets nport
# and adds nginx's pid to pids (the caller's cleanup kills it).
# Usage: start_nginx WORKER_CONNECTIONS HTTP_LINES SERVER_LINES PROBE_PATH
start_nginx() {
  mkdir -p "$work/nginx"
  nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
daemon off;
events { worker_connections $1; }
http {
  access_log off;
  $2
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen 127.0.0.1:$nport; $3 }
}
CONF
  "$NGINX" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  pids+=($!)
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nport$4" && break; sleep 0.05; done
}
