# Build the documents; each command inside is its own span, nested under this step.
set -eu
work="$1"
cd "$work"
otel-sqlite exec --name "index documents" -- sh -c 'ls docs | sort > out/index.txt'
otel-sqlite exec --name "count lines" -- sh -c 'cat docs/*.md | wc -l'
otel-sqlite exec --name "bundle" -- sh -c 'cat docs/*.md > out/bundle.md && echo "bundle: $(wc -c < out/bundle.md) bytes"'
