#!/usr/bin/env bash
# Checks the component layering: scheduler <- core <- mailbox <- actors <- supervision <-
# distribution. A component may include its own headers and the public headers of components to
# its left; never another component's detail/ headers, never a component to its right.
#
#   tools/check_layering.sh [source-dir]     (exit 0: clean; 1: violations, listed)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
layers=(scheduler core mailbox actors supervision distribution coro)

declare -A rank_of
for i in "${!layers[@]}"; do
  rank_of[${layers[$i]}]=$i
done

include_re='troupe/([^">]*)[">]'
violations=0
for component in "${layers[@]}"; do
  own=${rank_of[$component]}
  [ -d "$root/$component" ] || continue
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    [[ $rest =~ $include_re ]] || continue
    header=${BASH_REMATCH[1]}
    target=${header%%/*}
    theirs=${rank_of[$target]:-}
    [ -n "$theirs" ] || continue # the umbrella header or something outside the layers
    if [ "$theirs" -gt "$own" ]; then
      echo "$file:$line: $component includes troupe/$header, a component to its right"
      violations=$((violations + 1))
    elif [ "$target" != "$component" ] && [[ "$header" == */detail/* ]]; then
      echo "$file:$line: $component includes troupe/$header, another component's detail/ header"
      violations=$((violations + 1))
    fi
  done < <(grep -rnE '#include[[:space:]]*[<"]troupe/' "$root/$component" \
             --include='*.hpp' --include='*.cpp' --include='*.h' || true)
done

if [ "$violations" -gt 0 ]; then
  echo "layering: $violations violation(s)"
  exit 1
fi
echo "layering: clean"
