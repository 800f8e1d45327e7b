#!/usr/bin/env bash
# Does a public impact.com client work against our sandbox? Installs tap-impact (the Singer tap
# for impact.com, from PyPI) into a throwaway venv, seeds a throwaway sandbox database, serves
# it with `manage.py run_sandbox`, runs the tap with only its base URL pointed there (see
# tap_impact_base_url.py) and checks it extracted every seeded request, by id.
# Usage: scripts/tap_impact_check.sh [COUNT]   (run from anywhere; needs network for PyPI once)
# Not part of `make test` (installing the tap takes a minute) and not a product dependency.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
count="${1:-600}"
work="${TAP_WORK:-${TMPDIR:-/tmp}/tvr-tap-impact}"
venv="$work/venv"
py="$here/.venv/bin/python"
mkdir -p "$work"
export DATABASE_URL="sqlite:///$work/sandbox.sqlite3"
unset IMPACT_ACCOUNT_SID IMPACT_AUTH_TOKEN
sid="${IMPACT_SANDBOX_ACCOUNT_SID:-IRSandbox0000000000000000000001}"
token="${IMPACT_SANDBOX_AUTH_TOKEN:-sandbox-token}"

[ -x "$venv/bin/tap-impact" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q tap-impact==2.1.1; }

cd "$here"
"$py" manage.py migrate -v0
"$py" manage.py seed_sandbox --reset --count "$count" -v0
port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$py" manage.py run_sandbox --port "$port" --quiet >"$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill "$sandbox" 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "sandbox on" "$work/sandbox.log" && break; sleep 0.2; done

cat >"$work/config.json" <<JSON
{"account_sid": "$sid", "auth_token": "$token", "api_catalog": "Advertisers",
 "start_date": "2020-01-01T00:00:00Z", "user_agent": "tvr-dashboard tap-impact check"}
JSON
export TAP_IMPACT_BASE_URL="http://127.0.0.1:$port"
tap="$venv/bin/python scripts/tap_impact_base_url.py --config $work/config.json"
$tap --discover >"$work/catalog.json" 2>"$work/discover.log"
"$venv/bin/python" - "$work/catalog.json" >"$work/selected.json" <<'PY'
import json, sys
catalog = json.load(open(sys.argv[1]))
wanted = {"company_information", "tracking_value_requests", "unique_urls", "phone_numbers", "promo_codes"}
for stream in catalog["streams"]:
    for entry in stream["metadata"]:
        if entry["breadcrumb"] == []:
            entry["metadata"]["selected"] = stream["stream"] in wanted
print(json.dumps(catalog))
PY
$tap --catalog "$work/selected.json" >"$work/records.jsonl" 2>"$work/tap.log" || {
  echo "tap-impact failed; the end of its log ($work/tap.log):" >&2; tail -20 "$work/tap.log" >&2; exit 1; }

"$py" manage.py shell -v0 -c "
import collections, json, sys
from requests_app.sandbox.models import SandboxRequest
seeded = {str(i) for i in SandboxRequest.objects.filter(account_sid='$sid').values_list('impact_id', flat=True)}
got, streams = set(), collections.Counter()
for line in open('$work/records.jsonl'):
    message = json.loads(line)
    if message['type'] == 'RECORD':
        streams[message['stream']] += 1
        if message['stream'] == 'tracking_value_requests':
            got.add(str(message['record']['id']))
print('records per stream:', dict(sorted(streams.items())))
missing, extra = seeded - got, got - seeded
print(f'seeded requests: {len(seeded)}, extracted: {len(got)}, missing: {len(missing)}, unknown: {len(extra)}')
sys.exit(0 if seeded and not missing and not extra and streams['company_information'] == 1 else 1)
"
echo "tap-impact extracted every seeded request."
