# The failing step: a document the index should contain is missing.
set -eu
work="$1"
expected="design intro usage"
for doc in $expected; do
    if [ ! -e "$work/docs/$doc.md" ]; then
        echo "error: expected document '$doc.md' is missing" >&2
        exit 1
    fi
done
echo "all documents present"
