cd /work || exit 1
want=$(printf 'region,revenue\neast,40.00\nnorth,27.50\nsouth,12.40')
got=$(tr -d '\r' < totals.csv 2>/dev/null)
[ "$got" = "$want" ] && echo "SCORE: 1" || echo "SCORE: 0"
