"""The Scrapy project: spiders harvest listings and their full-size images into the database and queue."""
