"""The customer portal: a contact signs in by e-mail and sees and answers for its customer."""
