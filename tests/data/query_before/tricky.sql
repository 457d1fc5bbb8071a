SELECT * FROM (VALUES (1, 'plain', 0.1, NULL::VARCHAR, '{"a": [1, 2.5]}'::JSON, DATE '2024-02-29', [1, 2], true), (2, 'comma, "quote"', 1e300, 'multi
line', NULL::JSON, NULL::DATE, [], false), (3, 'é✓|pipe', -0.0, '', '"s"'::JSON, DATE '1999-12-31', NULL, NULL)) AS t(n, text, x, opt, doc, day, list, flag) ORDER BY n
