cd /work || exit 1
python3 - <<'PY'
import csv, json, subprocess
pts = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(open("points.csv"))]
n = len(pts); mx = sum(x for x, _ in pts) / n; my = sum(y for _, y in pts) / n
slope = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
intercept = my - slope * mx
score = 0.0
try:
    m = json.load(open("model.json"))
    if abs(m["slope"] - slope) < 1e-3 and abs(m["intercept"] - intercept) < 1e-3:
        score += 0.5
    out = subprocess.run(["python3", "predict.py", "10"], capture_output=True, text=True, timeout=10).stdout
    if abs(float(out.strip()) - (slope * 10 + intercept)) < 1e-2:
        score += 0.5
except Exception:
    pass
print(f"SCORE: {score}")
PY
