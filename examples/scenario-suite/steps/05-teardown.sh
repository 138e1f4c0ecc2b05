# The suite keeps going after a failure, like scenariolog's run-all.sh.
set -eu
work="$1"
rm -rf "$work/out"
echo "cleaned up"
