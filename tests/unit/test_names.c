/* test_names.c: file names, labels and op ids. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"

START_TEST(paths)
{
	static const char *const good[] = { "index/shard-0001", "a", "a.b_c-d",
	    "x/y/z.bin", "..a", "a..", NULL };
	static const char *const bad[] = { "", "/etc/passwd", "../x", "a/../b",
	    "a/..", ".", "a/./b", "a//b", "a/", "a b", "a\nb", "a\\b", "~x",
	    ".sluice/x", "a/.sluice", NULL };
	const char *const *p;
	const char *why;

	for (p = good; *p; p++)
		ck_assert_msg(name_valid_path(*p, &why) == 0, "%s refused", *p);
	for (p = bad; *p; p++)
		ck_assert_msg(name_valid_path(*p, &why) == -1, "%s accepted",
		    *p);
}
END_TEST

START_TEST(labels)
{
	const char *why;
	char long_name[300];

	ck_assert_int_eq(name_valid_label("use-01", &why), 0);
	ck_assert_int_eq(name_valid_label("eu_west.2", &why), 0);
	ck_assert_int_eq(name_valid_label("a/b", &why), -1);
	ck_assert_int_eq(name_valid_label("..", &why), -1);
	ck_assert_int_eq(name_valid_label(".hidden", &why), -1);
	ck_assert_int_eq(name_valid_label("a:b", &why), -1);
	ck_assert_int_eq(name_valid_label("a>b", &why), -1);
	ck_assert_int_eq(name_valid_label("", &why), -1);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_int_eq(name_valid_label(long_name, &why), -1);
}
END_TEST

START_TEST(escape)
{
	char *s = name_escape_file("index/shard-0001", 42);

	ck_assert_str_eq(s, "index%2Fshard-0001@42");
	free(s);
	s = name_escape_file("plain", 0);
	ck_assert_str_eq(s, "plain@0");
	free(s);
}
END_TEST

/* Peer words: escaped for a terminal, sanitized for a state. */
START_TEST(terminal_text)
{
	char *s = text_escape("ok \\ \x1b[2J \xc2\x9b \x7f \xc3\xa9");
	char t[] = "a\x1b\tb\xc2\x9b" "c\xc3\xa9\x7f";

	ck_assert_str_eq(s, "ok \\\\ \\x1b[2J \\xc2\\x9b \\x7f \\xc3\\xa9");
	free(s);
	text_sanitize(t);
	ck_assert_str_eq(t, "a??b??c\xc3\xa9?");
}
END_TEST

Suite *
suite_names(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("names");

	tcase_add_test(tc, paths);
	tcase_add_test(tc, labels);
	tcase_add_test(tc, escape);
	tcase_add_test(tc, terminal_text);
	suite_add_tcase(s, tc);
	return s;
}
