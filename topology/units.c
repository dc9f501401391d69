/*
 * units.c: bandwidths, sizes, durations and times as DESIGN.md spells them.
 * Units are case-sensitive: "Mbit" is megabits per second, "MB/s" megabytes;
 * mixing them up is the mistake an operator makes, so we refuse guesses.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topology.h"

struct unit {
	const char	*name;
	double		 factor;
};

static const struct unit bandwidth_units[] = {
	{ "bit", 1.0 / 8 }, { "Kbit", 1e3 / 8 }, { "Mbit", 1e6 / 8 },
	{ "Gbit", 1e9 / 8 }, { "Tbit", 1e12 / 8 },
	{ "B/s", 1 }, { "KB/s", 1e3 }, { "MB/s", 1e6 }, { "GB/s", 1e9 },
	{ "TB/s", 1e12 },
	{ "KiB/s", 1024.0 }, { "MiB/s", 1048576.0 },
	{ "GiB/s", 1073741824.0 }, { "TiB/s", 1099511627776.0 },
	{ NULL, 0 }
};

static const struct unit size_units[] = {
	{ "", 1 }, { "B", 1 }, { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 },
	{ "TB", 1e12 }, { "KiB", 1024.0 }, { "MiB", 1048576.0 },
	{ "GiB", 1073741824.0 }, { "TiB", 1099511627776.0 },
	{ NULL, 0 }
};

static const struct unit duration_units[] = {
	{ "", 1 }, { "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	{ NULL, 0 }
};

/*
 * Splits "1.5Gbit" into 1.5 and a unit from the table; returns 0 and the
 * product in *out, or -1 with *why set.
 */
static int
unit_parse(const char *s, const struct unit *units, double *out,
    const char **why)
{
	const char *p = s, *u;
	double v;
	int digits = 0;
	char *end;

	while (*p == ' ')
		p++;
	u = p;
	while (*u >= '0' && *u <= '9') {
		u++;
		digits++;
	}
	if (*u == '.') {
		u++;
		if (!(*u >= '0' && *u <= '9')) {
			*why = "expected digits after the decimal point";
			return -1;
		}
		while (*u >= '0' && *u <= '9')
			u++;
	}
	if (digits == 0) {
		*why = *p == '-' ? "must not be negative" :
		    "expected a number";
		return -1;
	}
	errno = 0;
	v = strtod(p, &end);
	if (errno != 0 || end != u || !isfinite(v)) {
		*why = "number out of range";
		return -1;
	}
	while (*u == ' ')
		u++;
	for (; units->name != NULL; units++) {
		size_t n = strlen(units->name);

		if (strncmp(u, units->name, n) == 0) {
			const char *t = u + n;

			while (*t == ' ')
				t++;
			if (*t == '\0') {
				*out = v * units->factor;
				if (!isfinite(*out)) {
					*why = "number out of range";
					return -1;
				}
				return 0;
			}
		}
	}
	*why = *u == '\0' ? "needs a unit" : "unknown unit";
	return -1;
}

/* Parses a bandwidth into bytes per second; it must be above zero. */
int
unit_bandwidth(const char *s, double *out, const char **why)
{
	if (unit_parse(s, bandwidth_units, out, why) != 0) {
		if (strcmp(*why, "unknown unit") == 0 ||
		    strcmp(*why, "needs a unit") == 0)
			*why = "needs a unit: bit, Kbit, Mbit, Gbit, Tbit, "
			    "B/s, KB/s, MB/s, GB/s, TB/s, KiB/s, MiB/s, "
			    "GiB/s or TiB/s";
		return -1;
	}
	/* Rates are written in plans as whole bytes per second, exactly
	 * as a double holds them: up to 2^53 (about 72 Pbit/s). */
	if (*out > 9007199254740992.0) {
		*why = "too large: 2^53 bytes per second at most";
		return -1;
	}
	return 0;
}

/* Parses a size into a whole number of bytes. */
int
unit_size(const char *s, uint64_t *out, const char **why)
{
	double v;

	if (unit_parse(s, size_units, &v, why) != 0) {
		if (strcmp(*why, "unknown unit") == 0)
			*why = "unknown unit: use B, KB, MB, GB, TB, KiB, "
			    "MiB, GiB or TiB";
		return -1;
	}
	if (v >= 18446744073709551616.0) {
		*why = "too large";
		return -1;
	}
	if (v != floor(v)) {
		*why = "not a whole number of bytes";
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

/* Parses a duration into seconds. */
int
unit_duration(const char *s, double *out, const char **why)
{
	if (unit_parse(s, duration_units, out, why) != 0) {
		if (strcmp(*why, "unknown unit") == 0)
			*why = "unknown unit: use ms, s, m or h";
		return -1;
	}
	return 0;
}

/* Formats a byte count with a binary unit, for people. */
void
unit_format_size(char *buf, size_t len, double v)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB",
	    "PiB" };
	size_t i = 0;

	while (v >= 1024 && i + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f B", v);
	else
		snprintf(buf, len, "%.1f %s", v, names[i]);
}

/* Formats a bandwidth in bits per second with a decimal unit. */
void
unit_format_bandwidth(char *buf, size_t len, double bytes_per_second)
{
	static const char *const names[] = { "bit", "Kbit", "Mbit", "Gbit",
	    "Tbit" };
	double v = bytes_per_second * 8;
	size_t i = 0;

	while (v >= 1000 && i + 1 < sizeof(names) / sizeof(names[0])) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.4g%s", v, names[i]);
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
days_from_civil(long long y, unsigned m, unsigned d)
{
	long long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long long)doe - 719468;
}

static int
digits(const char **p, int n, unsigned *out)
{
	unsigned v = 0;

	while (n-- > 0) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	*out = v;
	return 0;
}

/*
 * Parses an RFC 3339 time, "2026-11-25T08:00:00Z" or with "+01:00";
 * fractions of a second are dropped.  Returns 0 or -1.
 */
int
time_parse(const char *s, time_t *out)
{
	unsigned y, mo, d, h, mi, se, oh = 0, om = 0;
	long long t;
	int sign = 0;
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31,
	    30, 31, 30, 31 };

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d) || (*s != 'T' && *s != 't' &&
	    *s != ' '))
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) ||
	    *s++ != ':' || digits(&s, 2, &se))
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
	} else
		return -1;
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || se > 60)
		return -1;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 ||
	    y % 400 == 0)))
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	t -= sign * (long long)(oh * 3600 + om * 60);
	*out = (time_t)t;
	return 0;
}

/* Formats t as "2026-11-25T08:00:00Z". */
void
time_format(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* Seconds on the monotonic clock, from an arbitrary start. */
double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The wall-clock time seconds from now, as pthread_cond_timedwait()
 * takes it (of a condition variable on the default clock). */
void
clock_real_in(double seconds, struct timespec *ts)
{
	double at;

	clock_gettime(CLOCK_REALTIME, ts);
	at = (double)ts->tv_sec + (double)ts->tv_nsec / 1e9 + fmax(0, seconds);
	ts->tv_sec = (time_t)at;
	ts->tv_nsec = (long)((at - (double)ts->tv_sec) * 1e9);
	if (ts->tv_nsec > 999999999L)
		ts->tv_nsec = 999999999L;
}

/* A wall-clock time (seconds since 1970) on the monotonic clock. */
double
clock_mono_of(double wall)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return clock_mono() + (wall - (double)now.tv_sec - (double)now.tv_nsec /
	    1e9);
}

/* Sleeps until the monotonic time when. */
void
sleep_until(double when)
{
	struct timespec ts;
	double d = when - clock_mono();

	if (!(d > 0))
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}
