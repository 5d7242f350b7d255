"""dlt sources that read SIU-Guaraní and Moodle PostgreSQL databases."""
