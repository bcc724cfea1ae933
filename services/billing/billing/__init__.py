"""The billing service: tariffs, invoices, credit notes, payments received and mandates."""
