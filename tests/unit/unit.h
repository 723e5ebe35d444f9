/* unit.h - common prelude for the host unit tests: cmocka and its required system headers. */
#ifndef TESTS_UNIT_H
#define TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

/*
 * Line-buffer stdout so cmocka's progress lines are not lost when a sanitizer ends the process
 * with _exit() while stdout is a pipe (make, CI): the last "[ RUN      ]" names the culprit.
 */
__attribute__((constructor)) static void unit_stdout_line_buffered(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#endif
