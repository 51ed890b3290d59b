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
// calendarevent, task and phonecall, other prefixes only in customfield.
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
package netsuitetest
