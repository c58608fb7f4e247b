cd /work && [ ! -e cache/build-1.tar ] && [ ! -e cache/build-2.tar ] && [ ! -e cache/build-3.tar ] && [ -e cache/index.json ] && echo "SCORE: 1" || echo "SCORE: 0"
