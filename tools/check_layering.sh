#!/usr/bin/env bash
# Checks the component layering: scheduler <- introspection <- runtime <- core <- mailbox <- actors
# <- supervision <- {distribution, coro}. A component may include its own headers and the public
# headers of components to its left; never another component's detail/ headers, never a
# component to its right.
#
#   tools/check_layering.sh [source-dir]     (exit 0: clean; 1: violations, listed)
set -euo pipefail
root="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
layers=(scheduler introspection runtime core mailbox actors supervision distribution coro)

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

# The three lowest components (scheduling, introspection, the runtime) name no concept of a
# component above them: components describe themselves (their actors, rows, sections, metric
# families, named objects and events) through the introspection seam, so their code and strings
# say nothing of supervisors, mailboxes, topics or pools. Comments may (they explain who uses a
# seam), so they are stripped first; string and character literals are kept, so a literal cannot
# hide the start of a comment. Two words are theirs: CAF's `mailbox_element` and the runtime's
# blocking pool.
upper_words='supervis|mailbox|topic|pool'
own_words='mailbox_element|blocking[_ -]pool'
while IFS= read -r hit; do
  echo "$hit: a base component names a concept of a component above it"
  violations=$((violations + 1))
done < <(find "$root/scheduler" "$root/introspection" "$root/runtime" \
           \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print0 |
           xargs -0 -r perl -0777 -ne '
             my $file = $ARGV;
             s{("(?:\\.|[^"\\\n])*")|(\x27(?:\\.|[^\x27\\\n])+\x27)|//[^\n]*|/\*.*?\*/}
              { defined $1 ? $1 : defined $2 ? $2 : "\n" x (() = $& =~ /\n/g) }gse;
             my $n = 0;
             for my $line (split /\n/, $_, -1) {
               $n++;
               (my $words = lc $line) =~ s/'"$own_words"'//g;
               print "$file:$n: $line\n" if $words =~ /'"$upper_words"'/;
             }')

if [ "$violations" -gt 0 ]; then
  echo "layering: $violations violation(s)"
  exit 1
fi
echo "layering: clean"
