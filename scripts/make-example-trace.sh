#!/bin/sh
# Generates scenarios/example-trace.csv, the request trace of the `real-traffic` lesson.
#
# Usage: scripts/make-example-trace.sh > scenarios/example-trace.csv
#
# The trace is made up here, not copied from anywhere: 20 seconds of traffic to a service of
# about 10 ms per request, shaped like real traffic rather than like a textbook's:
#   - arrivals are Poisson whose rate is 250 requests/s, except two "flash crowds" (4-6 s and
#     12-13.5 s) at 400 requests/s;
#   - demands are mostly short (exponential, mean 6 ms) with 10% slow ones (exponential, mean
#     45 ms): a mean of about 9.9 ms and a long tail;
#   - each request names one of 50 clients (the `client` column).
# Randomness is a Park-Miller generator (16807 x mod 2^31 - 1) seeded with 20261125, computed
# exactly in awk's doubles, so any POSIX awk prints the same file (tests/trace.rs checks that
# this script reproduces the shipped file). Times are in seconds with microsecond precision;
# demands in milliseconds with a unit (`4.250ms`), to show both forms a trace may use.
exec awk 'BEGIN {
    seed = 20261125
    print "# made by scripts/make-example-trace.sh: 20 s of traffic with two flash crowds"
    print "time,demand,client"
    t = 0
    while (1) {
        rate = ((t >= 4 && t < 6) || (t >= 12 && t < 13.5)) ? 400 : 250
        t += -log(uniform()) / rate
        if (t >= 20) break
        mean = (uniform() < 0.1) ? 45 : 6
        demand = -log(uniform()) * mean
        client = int(uniform() * 50)
        printf "%.6f,%.3fms,%d\n", t, demand, client
    }
}
function uniform() {
    seed = (seed * 16807) % 2147483647
    return seed / 2147483647
}'
