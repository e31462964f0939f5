"""Pure rules of casework: lifecycle, calendar, deadlines, policy. No I/O here."""
