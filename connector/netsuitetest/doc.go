// Package netsuitetest is a strict fake of the NetSuite REST endpoints a
// SuiteQL connector uses: the SuiteQL query service, the OAuth 2.0 token
// endpoint, serverTime and a sliver of the record API. It is built on
// net/http/httptest and serves generated rows and JSON fixtures.
//
// The fake does not trust its client. It parses every SuiteQL statement
// itself, rejects what NetSuite (Oracle underneath) rejects, renders values
// the way NetSuite does (strings only, T/F, omitted NULLs, date-only raw
// datetimes in the user's format), enforces the paging rules (limit ≤ 1000,
// offset a multiple of limit, the 100,000-row cap), and breaks ORDER BY ties
// randomly per request like a real account. A connector that reads it
// correctly should therefore also read a real account correctly.
//
// It shares no code with the connector on purpose: it is an independent
// implementation of the same fact sheet (../shared/netsuite-api.md).
//
// # Custom fields and columns an account will not serve
//
// Options.CustomFields (StandardCustomFields is a realistic set) adds the
// customfield table and the custom columns of the record tables, classified
// by script id prefix: custentity… on customer and contact, custevent… on
// calendarevent, task and phonecall, custrecord… address fields
// (CustomField.AddressField) on the address tables, other prefixes only in
// customfield.
// ValueTypes lists the value types, their Go types in Row and their SQL
// types. A Percent's Row value (Upsert, Truth) is the number a user sees in
// NetSuite, 50 for 50 %, whatever Options.PercentRendering makes the raw
// SuiteQL text; a Multiple Select's is []int64.
//
// Options.Rejections (and SetRejection) make the account refuse columns it
// has, with the texts real accounts send; a custom field that is listed but
// not served, or not stored, is refused too. AddCustomField,
// RemoveCustomField, SetCustomFieldType and SetRejection change the account
// between (or during) runs.
//
// # Joins
//
// SELECT statements may join tables in SQL-92 form:
//
//	FROM a [alias] [INNER] JOIN b [alias] ON b.x = a.y [AND b.z = a.w …]
//	               LEFT [OUTER] JOIN c [alias] ON (c.k = b.m) …
//
// Each ON condition is one or more ANDed equalities (optionally in one pair
// of parentheses) between a column of the table being joined and a column of
// a table before it in FROM; a LEFT JOIN gives NULLs for the right side of a
// row nothing matches, and NULL equals nothing. Columns anywhere (select
// list, TO_CHAR, ON, WHERE, ORDER BY) may be qualified by a table's alias,
// or by its name when it has none; an unqualified name resolves to the one
// table that has it and is a 400 when several do. Everything that works on
// one table works on a join (WHERE with AND/OR/NOT, IN, BETWEEN, IS NULL,
// binds, TO_TIMESTAMP/TO_DATE bounds, TO_CHAR, ORDER BY several columns,
// paging, the 100,000-row cap, totalResults), and Options.Rejections apply
// to a column of a table wherever the join mentions it. The join is
// materialised per request (hash-joined), then run like a table.
//
// Refused with a 400 naming the limit: Oracle-style comma joins (FROM a, b
// WHERE a.x = b.y), RIGHT, FULL, CROSS and NATURAL joins, USING, ON
// conditions with literals, OR or other operators, joining DUAL, one name or
// alias for two tables, and, as everywhere, subqueries and t.*.
//
// # Address books and subsidiary memberships
//
// The child tables (ChildTables, children.go) are generated with every
// generated customer and contact (Options.Rows), from their own random
// streams, so the parents' other columns keep their values per Seed:
// customeraddressbook and contactaddressbook (0–4 lines per entity),
// customeraddressbookentityaddress and contactaddressbookentityaddress (the
// addresses, keyed by nkey), entityaddress (every address of both books,
// same nkeys) and customersubsidiaryrelationship (one primary membership
// per customer with customer.subsidiary, and for some 1–3 more).
// customer.defaultbillingaddress and defaultshippingaddress (and contact's,
// which the fake adds to contact) hold the nkey of the default lines. Fixture
// records (FixtureIDMin and up) get one line per nkey their default columns
// name, and a customer its primary membership; the child tables are never
// loaded from fixture files.
//
// They change only through AddAddressLine, SetAddressLine, EditAddress,
// RemoveAddressLine, AddSubsidiary, SetSubsidiary, RemoveSubsidiary (and
// Delete of a customer or contact, which removes its children, or of a child
// row, which is the matching removal), which keep all of the above
// consistent; Upsert refuses the child tables and defaults that disagree
// with the lines, and moves the primary membership with customer.subsidiary.
// Truth serves each table; AddressBook is the line-and-address row a
// connector should output.
//
// # Guesses
//
// Where no source settles how NetSuite behaves, the fake guesses. Each guess
// is listed here with the option that switches it (and its default), or
// "fixed" when there is no switch. A connector should survive every setting.
//
//   - Raw date and datetime columns read date-only in the user's date
//     preference: DateFormat, default "M/D/YYYY". Whether a time part ever
//     appears: fixed (never).
//   - TO_CHAR renders, and TO_DATE/TO_TIMESTAMP resolve, in the session zone:
//     TimeZone, default "America/Los_Angeles". In the repeated autumn hour a
//     local time means the earlier instant; in the spring gap it is pushed
//     forward by the gap: fixed.
//   - SESSIONTIMEZONE returns a region name: TimeZoneAsOffset (default false)
//     returns the offset ("-08:00") instead.
//   - count, offset and totalResults are JSON numbers: StringEnvelope
//     (default false) makes them strings, as in one of Oracle's samples.
//   - Item keys are lower case: UpperCaseKeys (default false).
//   - NULL values are omitted from items, never sent as null: fixed.
//   - The 100,000-row cap: totalResults counts every match, hasMore turns
//     false at the cap, and a page past it (offset+limit > 100,000) is a 400
//     INVALID_PARAMETER with the fake's own wording: fixed. So are the texts
//     of the other paging errors.
//   - Rows the ORDER BY leaves tied come in a new random order on every
//     request: fixed.
//   - Unaliased expressions come back as expr1, expr2, …; on DUAL even an
//     aliased one does: fixed.
//   - TO_CHAR's FF renders zeros (datetimes have second precision): fixed.
//   - Error bodies: the rfc9110 "type" links, "Bad Request" as the title of a
//     429, the record API's 403 text (NoRecordAPI, default false): fixed.
//   - deletedrecord's recordtypeid numbers are invented: fixed.
//   - customfield.fieldtype of custevent… fields: ActivityFieldType, default
//     "CRM" (e.g. "EVENT"). Other prefixes: ENTITY, BODY, COLUMN, ITEM,
//     RECORD, else OTHER (fixed; CustomField.FieldType overrides one field).
//   - customfield.scriptid is lower case: UpperCaseScriptIDs (default false)
//     stores and serves it upper case, which also changes its sort order
//     ('_' sorts after upper-case letters but before lower-case ones).
//   - customfield.fieldvaluetyperecord exists and holds the list's script id
//     as text: NoFieldValueTypeRecord (default false) removes the column.
//   - A raw Percent reads as the number shown, "50": PercentRendering,
//     default PercentNumber "50"; PercentWithSign "50%"; PercentFraction ".5"
//     (WHERE then compares the fraction too). Row values stay 50.
//   - A raw Multiple Select reads "1, 2, 3": MultiSelectRendering, default
//     MultiSelectCommaSpace; MultiSelectComma "1,2,3"; MultiSelectControlChar
//     (U+0005 between ids). Ids keep the order they were stored in; no ids is
//     NULL; WHERE and ORDER BY treat the value as that text: fixed.
//   - Time Of Day reads as text such as "9:30 am" and is text to SQL, so
//     TO_CHAR on it fails: fixed.
//   - List/Record reads as the internal id; Image and Document as a file id;
//     a value type label the fake does not know ("Geo Point") as text: fixed.
//   - Date and Date/Time custom fields behave like the standard date and
//     datetime columns: fixed.
//   - A custom field listed in customfield but not served by SuiteQL
//     (CustomField.NotServed), or not stored (NotStored, isstored 'F'),
//     holds no data (it is in neither Columns nor Truth), and selecting it is
//     rejected: NonStoredRejection, default NotExposed.
//   - Whether an entity field is served on both customer and contact (or a
//     CRM field on all three activity tables): yes unless Rejections says
//     otherwise for a table: fixed default.
//   - Which column a 400 names when a statement has several bad ones:
//     NameLastRejected (default false: the first in the statement, reading
//     the select list, then WHERE, then ORDER BY).
//   - A column written qualified (customer.foo) is named unqualified ('foo')
//     in errors: QualifiedNamesInErrors (default false) names it as written.
//     A qualifier that names neither the table nor its alias is always named
//     as written.
//   - The "Available identifiers are: {…}" list holds the table's served
//     columns in column order, comma+space separated and unquoted:
//     QuoteAvailableIdentifiers (default false) quotes each ('id', …). It
//     leaves out columns rejected with NotExposed or UnknownIdentifier and
//     custom fields that are no column; it keeps columns rejected with
//     UnexpectedError (those pass validation): fixed.
//   - Names are validated before types, and every 400 (validation) comes
//     before a 500 (execution): fixed. Names in errors are lower case: fixed.
//   - A column rejected with UnexpectedError fails the whole query with 500
//     UNEXPECTED_ERROR whatever rows it would return, even a limit=1 query
//     over an empty window, so probing with an empty window finds it; the
//     detail is "An unexpected SuiteScript error has occurred. Error ID: "
//     and 20 random lower-case letters and digits, without the search
//     prefix: fixed.
//   - SELECT * leaves out columns rejected with NotExposed or
//     UnknownIdentifier, and fails like the column when one is rejected with
//     UnexpectedError: fixed.
//   - TO_CHAR with a datetime format on a number is Oracle's ORA-01481, on
//     text (and T/F) ORA-01722, as a 400 INVALID_PARAMETER after the search
//     prefix; NetSuite's exact wording is unknown: fixed.
//   - AddCustomField leaves existing rows NULL (not a default value) and, like
//     SetCustomFieldType, does not bump records' lastmodifieddate; a type
//     change converts values when it can and otherwise makes them NULL, and
//     bumps customfield.lastmodifieddate: fixed.
//   - Generated Check Box values are NULL for a few records (saved before the
//     field existed), not only 'T'/'F': fixed.
//
// Joins:
//
//   - An unqualified column that several joined tables have is a 400
//     "ORA-00918: column ambiguously defined: 'x' is a column of a and b;
//     qualify it …" (the wording NetSuite wraps around Oracle's error is
//     unknown); so is one alias or name for two tables: fixed.
//   - In a join, an Unknown identifier's "Available identifiers" list holds
//     the columns of the table a qualifier names (unqualified, like a single
//     table's), or, for an unqualified name no table has or a qualifier no
//     table answers to, the served columns of every table it could see,
//     each as alias.column (name.column without an alias), in FROM order:
//     fixed. NotExposed names the real table as the record.
//   - ON sees only the tables joined so far; a column of a later table there
//     is an Unknown identifier: fixed.
//   - SELECT * over a join returns every served column of each table in
//     FROM order; two columns of one name are a 400 (select them by name and
//     alias one): fixed.
//   - A join's ORDER BY is unique (no random tie-break) only when it names
//     the key columns of every joined table (customeraddressbook: entity and
//     internalid; the address tables: nkey; customersubsidiaryrelationship:
//     id); otherwise ties, if any, come in a new random order per request,
//     like a table's: fixed.
//   - Request counts and the query log (Stats) file a join under its first
//     table: fixed.
//
// Address books (../shared/netsuite-api.md §10.2):
//
//   - Editing an address (EditAddress) bumps only the address row's
//     lastmodifieddate (in its book's table and in entityaddress), not the
//     parent's (the assumption): fixed.
//   - Adding or removing a line or changing its label or default flags bumps
//     the parent's lastmodifieddate: BookChangesKeepParentLMD (default false)
//     leaves it alone. Either way the parent's default address columns
//     follow the lines.
//   - A removed line (and its address) leaves no deletedrecord row; deleting
//     a customer or contact removes its lines and addresses, and a customer's
//     memberships, without deletedrecord rows for them: fixed.
//   - A role without the address permission gets zero rows, not an error,
//     from the five address tables: NoAddressPermission (default false).
//     Truth and AddressBook still show the data.
//   - customfield.fieldtype of address custom fields (custrecord… with
//     CustomField.AddressField): AddressFieldType, default "ADDRESS". Address
//     custom fields are columns of customeraddressbookentityaddress,
//     contactaddressbookentityaddress and entityaddress; other custrecord…
//     fields remain columns of no table: fixed.
//   - recordowner holds the owning entity's id; dropdownstate the state-list
//     code ("CA", "NSW", "Tokyo") or NULL, state the text as entered; country
//     the ISO alpha-2 code: fixed.
//   - addrtext is rebuilt from the parts when override is 'F' and a mutation
//     sets no addrtext: one line per non-empty part (addressee, attention,
//     addr1–addr3), then "city state zip", then the country's English name;
//     an overridden addrtext is kept as written: fixed.
//   - Line internalids are unique across both books and nkeys across
//     entityaddress; generated nkeys start at 100000, internalids at 1, and
//     neither is reused after a removal: fixed.
//   - contact has defaultbillingaddress and defaultshippingaddress like
//     customer: fixed.
//   - Generated address lastmodifieddates lie in the generator's window:
//     some equal the parent's, some share a mass-update second, and many are
//     later than the parent's (edits do not bump it): fixed.
//
// Subsidiary memberships (§10.3):
//
//   - customersubsidiaryrelationship has lastmodifieddate (one source lists
//     it): NoSubsidiaryLastModified (default false) drops the column.
//   - The account is OneWorld: NoOneWorld (default false) removes the table
//     ("Record 'customersubsidiaryrelationship' was not found.").
//   - A removed membership leaves no deletedrecord row:
//     SubsidiaryRemovalsInDeletedRecord (default false) adds one of type
//     'customersubsidiaryrelationship' (recordtypeid invented).
//   - Membership changes bump the membership's lastmodifieddate and the
//     customer's; a membership that loses the primary flag is stamped too;
//     customer.subsidiary follows the primary membership: fixed.
package netsuitetest
