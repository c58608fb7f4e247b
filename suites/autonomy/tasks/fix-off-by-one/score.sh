cd /work && python3 - <<'PY'
from stats import mean_of_last
cases = [(([1, 2, 3, 4], 2), 3.5), (([5], 1), 5.0), (([2, 4, 6, 8, 10], 5), 6.0)]
ok = all(abs(mean_of_last(*args) - want) < 1e-9 for args, want in cases)
print("SCORE: 1" if ok else "SCORE: 0")
PY
