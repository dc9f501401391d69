/* test_units.c: bandwidths, sizes, durations and times. */
#include <string.h>

#include "unit.h"

START_TEST(bandwidth_units)
{
	const char *why;
	double v;

	ck_assert_int_eq(unit_bandwidth("1.5Gbit", &v, &why), 0);
	ck_assert_double_eq(v, 187500000.0);
	ck_assert_int_eq(unit_bandwidth("1000Mbit", &v, &why), 0);
	ck_assert_double_eq(v, 125000000.0);
	ck_assert_int_eq(unit_bandwidth("8bit", &v, &why), 0);
	ck_assert_double_eq(v, 1.0);
	ck_assert_int_eq(unit_bandwidth("10MiB/s", &v, &why), 0);
	ck_assert_double_eq(v, 10485760.0);
	ck_assert_int_eq(unit_bandwidth("3KB/s", &v, &why), 0);
	ck_assert_double_eq(v, 3000.0);
	ck_assert_int_eq(unit_bandwidth("2Tbit", &v, &why), 0);
	ck_assert_double_eq(v, 250e9);
	ck_assert_int_eq(unit_bandwidth("0bit", &v, &why), 0);
	ck_assert_double_eq(v, 0.0);
}
END_TEST

START_TEST(bandwidth_errors)
{
	const char *why;
	double v;

	ck_assert_int_eq(unit_bandwidth("10", &v, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "needs a unit"));
	ck_assert_int_eq(unit_bandwidth("10Gbps", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("10gbit", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("10 mb/s", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("-1Gbit", &v, &why), -1);
	ck_assert_str_eq(why, "must not be negative");
	ck_assert_int_eq(unit_bandwidth("1.Gbit", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("Gbit", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("1e3Gbit", &v, &why), -1);
	ck_assert_int_eq(unit_bandwidth("", &v, &why), -1);
}
END_TEST

START_TEST(size_units)
{
	const char *why;
	uint64_t v;

	ck_assert_int_eq(unit_size("4MiB", &v, &why), 0);
	ck_assert_uint_eq(v, 4194304);
	ck_assert_int_eq(unit_size("1.5GiB", &v, &why), 0);
	ck_assert_uint_eq(v, 1610612736);
	ck_assert_int_eq(unit_size("1024", &v, &why), 0);
	ck_assert_uint_eq(v, 1024);
	ck_assert_int_eq(unit_size("2KB", &v, &why), 0);
	ck_assert_uint_eq(v, 2000);
	ck_assert_int_eq(unit_size("7B", &v, &why), 0);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(unit_size("1TiB", &v, &why), 0);
	ck_assert_uint_eq(v, 1099511627776ULL);
	ck_assert_int_eq(unit_size("1.5B", &v, &why), -1);
	ck_assert_str_eq(why, "not a whole number of bytes");
	ck_assert_int_eq(unit_size("3Mbit", &v, &why), -1);
	ck_assert_int_eq(unit_size("99999999999999999999999", &v, &why), -1);
	ck_assert_int_eq(unit_size("1mib", &v, &why), -1);
}
END_TEST

START_TEST(duration_units)
{
	const char *why;
	double v;

	ck_assert_int_eq(unit_duration("80ms", &v, &why), 0);
	ck_assert_double_eq_tol(v, 0.08, 1e-12);
	ck_assert_int_eq(unit_duration("60", &v, &why), 0);
	ck_assert_double_eq(v, 60.0);
	ck_assert_int_eq(unit_duration("1.5m", &v, &why), 0);
	ck_assert_double_eq(v, 90.0);
	ck_assert_int_eq(unit_duration("2h", &v, &why), 0);
	ck_assert_double_eq(v, 7200.0);
	ck_assert_int_eq(unit_duration("5 s", &v, &why), 0);
	ck_assert_double_eq(v, 5.0);
	ck_assert_int_eq(unit_duration("3d", &v, &why), -1);
	ck_assert_int_eq(unit_duration("s", &v, &why), -1);
}
END_TEST

START_TEST(times)
{
	time_t t;
	char buf[32];

	ck_assert_int_eq(time_parse("1970-01-01T00:00:00Z", &t), 0);
	ck_assert_int_eq((long)t, 0);
	ck_assert_int_eq(time_parse("2026-11-25T08:00:00Z", &t), 0);
	ck_assert_int_eq((long)t, 1795593600L);
	time_format(buf, sizeof(buf), t);
	ck_assert_str_eq(buf, "2026-11-25T08:00:00Z");
	ck_assert_int_eq(time_parse("2026-11-25T09:30:00+01:30", &t), 0);
	ck_assert_int_eq((long)t, 1795593600L);
	ck_assert_int_eq(time_parse("2026-11-25T08:00:00.250Z", &t), 0);
	ck_assert_int_eq((long)t, 1795593600L);
	ck_assert_int_eq(time_parse("2024-02-29T00:00:00Z", &t), 0);
	ck_assert_int_eq(time_parse("2026-02-29T00:00:00Z", &t), -1);
	ck_assert_int_eq(time_parse("2026-13-01T00:00:00Z", &t), -1);
	ck_assert_int_eq(time_parse("2026-11-25T08:00:00", &t), -1);
	ck_assert_int_eq(time_parse("2026-11-25", &t), -1);
	ck_assert_int_eq(time_parse("2026-11-25T24:00:00Z", &t), -1);
}
END_TEST

Suite *
suite_units(void)
{
	Suite *s = suite_create("units");
	TCase *tc = tcase_create("units");

	tcase_add_test(tc, bandwidth_units);
	tcase_add_test(tc, bandwidth_errors);
	tcase_add_test(tc, size_units);
	tcase_add_test(tc, duration_units);
	tcase_add_test(tc, times);
	suite_add_tcase(s, tc);
	return s;
}
