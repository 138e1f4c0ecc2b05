# Create the scenario's workspace: a tiny document repository.
set -eu
work="$1"
mkdir -p "$work/docs" "$work/out"
for doc in intro design usage; do
    printf '# %s\n\nSome text about %s.\n' "$doc" "$doc" > "$work/docs/$doc.md"
done
rm -f "$work/docs/usage.md"  # the bug step 04 will find
echo "workspace ready in $work with $(ls "$work/docs" | wc -l) documents"
