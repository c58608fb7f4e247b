cd /work || exit 1
printf 'b a c a b a\nC d\n' > /tmp/t.txt
got=$(python3 wc.py /tmp/t.txt 2>/dev/null)
want=$(printf 'a 3\nb 2\nc 2')
[ "$got" = "$want" ] && echo "SCORE: 1" || echo "SCORE: 0"
