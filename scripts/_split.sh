# Sourced by scripts/test and scripts/bench: split pytest arguments between the main venv and
# .venv-crewai (crewai-tools pins openai<3; the main test extra wants openai>=3, so the tests
# and benchmarks of CrewAI's own tool objects, under <dir>/crewai_env, run in their own venv).
# usage: split_args <dir> "$@"  → arrays main_paths, crewai_paths, opts
split_args() {
    local dir="$1"; shift
    main_paths=(); crewai_paths=(); opts=()
    for arg in "$@"; do
        case "$arg" in
            "$dir"/crewai_env|"$dir"/crewai_env/*) crewai_paths+=("$arg") ;;
            "$dir"|"$dir"/*) main_paths+=("$arg") ;;
            *) opts+=("$arg") ;;
        esac
    done
    if [ ${#main_paths[@]} -eq 0 ] && [ ${#crewai_paths[@]} -eq 0 ]; then
        main_paths=("$dir"); crewai_paths=("$dir/crewai_env")
    fi
}

# run_pytest <python> <args...>: pytest, where "no test selected" (exit 5, e.g. a -k that
# matches nothing in this half) is not a failure.
run_pytest() {
    local python="$1"; shift
    local rc=0
    "$python" -m pytest "$@" || rc=$?
    [ "$rc" -eq 5 ] && rc=0
    return "$rc"
}
